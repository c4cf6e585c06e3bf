// Package netlab builds MPTCP test topologies out of network namespaces and
// veth links with the ip command from iproute2.
//
// A topology is a client and a server namespace joined by N paths. It is
// used by the demo lab, the benchmarks and (through internal/nstest) the
// integration tests. Every name is unique per process, and Close removes
// everything that Build created, also after a partial failure.
package netlab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var counter atomic.Uint64

// NS is a named network namespace.
type NS struct {
	Name string
}

// NewNS creates a network namespace named prefix-PID-N and brings its
// loopback up.
func NewNS(prefix string) (*NS, error) {
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), counter.Add(1))
	if err := Run("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	ns := &NS{Name: name}
	if _, err := ns.Output("ip", "link", "set", "lo", "up"); err != nil {
		ns.Delete()
		return nil, err
	}
	return ns, nil
}

// Delete kills the processes left in the namespace and deletes it.
func (ns *NS) Delete() {
	out, _ := exec.Command("ip", "netns", "pids", ns.Name).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		// Never the caller itself: one of its threads may have
		// entered the namespace.
		if _, err := fmt.Sscan(f, &pid); err == nil && pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	_ = exec.Command("ip", "netns", "delete", ns.Name).Run()
}

// Path returns the namespace file, /run/netns/NAME.
func (ns *NS) Path() string { return "/run/netns/" + ns.Name }

// Command returns a command that runs inside the namespace through
// "ip netns exec".
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Output runs a command inside the namespace and returns its standard
// output. The error includes the command line and its standard error.
func (ns *NS) Output(name string, args ...string) (string, error) {
	return output(ns.Command(name, args...))
}

// Sysctl sets key (dotted form, such as net.mptcp.pm_type) to value inside
// the namespace.
func (ns *NS) Sysctl(key, value string) error {
	_, err := ns.Output("sysctl", "-q", "-w", key+"="+value)
	return err
}

// Run runs a command in the caller's namespace.
func Run(name string, args ...string) error {
	_, err := output(exec.Command(name, args...))
	return err
}

func output(cmd *exec.Cmd) (string, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s",
			strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Path is one veth link between the client and the server namespace.
type Path struct {
	ClientIf, ServerIf     string
	ClientAddr, ServerAddr netip.Addr
}

// Options selects the shape of a topology.
type Options struct {
	Paths int  // number of veth links; 0 means 2
	IPv6  bool // fd00:200:N::1/64 and ::2 in place of 10.200.N.1/24 and .2
	// ClientPM is "userspace" (default) or "kernel". The server always
	// runs the in-kernel path manager with limits raised so that it
	// accepts joins.
	ClientPM string
	// Prefix starts the namespace names; default "mptcp-lab".
	Prefix string
}

// Topology is a client and a server namespace joined by several veth
// paths, with source routing in the client so that a subflow bound to path
// N's address leaves through path N.
type Topology struct {
	Client, Server *NS
	Paths          []Path
}

// Build creates the topology. On error it removes what it had created.
func Build(opts Options) (topo *Topology, err error) {
	if opts.Paths <= 0 {
		opts.Paths = 2
	}
	if opts.Prefix == "" {
		opts.Prefix = "mptcp-lab"
	}
	topo = &Topology{}
	defer func() {
		if err != nil {
			topo.Close()
			topo = nil
		}
	}()
	if topo.Client, err = NewNS(opts.Prefix + "-c"); err != nil {
		return topo, err
	}
	if topo.Server, err = NewNS(opts.Prefix + "-s"); err != nil {
		return topo, err
	}
	if err = topo.configurePM(opts.ClientPM); err != nil {
		return topo, err
	}
	for i := 0; i < opts.Paths; i++ {
		p, err := topo.addPath(i, opts.IPv6)
		if err != nil {
			return topo, err
		}
		topo.Paths = append(topo.Paths, p)
	}
	return topo, topo.addSourceRoutes(opts.IPv6)
}

// Close deletes both namespaces, which removes their links, addresses,
// routes, qdiscs and nftables rules, and kills their processes.
func (topo *Topology) Close() {
	for _, ns := range []*NS{topo.Client, topo.Server} {
		if ns != nil {
			ns.Delete()
		}
	}
}

func (topo *Topology) configurePM(clientPM string) error {
	for _, ns := range []*NS{topo.Client, topo.Server} {
		for _, kv := range [][2]string{
			{"net.mptcp.enabled", "1"},
			{"net.ipv4.conf.all.rp_filter", "0"},
			{"net.ipv4.conf.default.rp_filter", "0"},
		} {
			if err := ns.Sysctl(kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	switch clientPM {
	case "", "userspace":
		if err := topo.Client.Sysctl("net.mptcp.pm_type", "1"); err != nil {
			return err
		}
	case "kernel":
		if err := setKernelPM(topo.Client); err != nil {
			return err
		}
	default:
		return fmt.Errorf("netlab: invalid client path manager %q: want userspace or kernel", clientPM)
	}
	return setKernelPM(topo.Server)
}

func setKernelPM(ns *NS) error {
	if err := ns.Sysctl("net.mptcp.pm_type", "0"); err != nil {
		return err
	}
	_, err := ns.Output("ip", "mptcp", "limits", "set", "subflows", "8", "add_addr_accepted", "8")
	return err
}

func (topo *Topology) addPath(i int, v6 bool) (Path, error) {
	p := Path{ClientIf: fmt.Sprintf("c%d", i), ServerIf: fmt.Sprintf("s%d", i)}
	// Both ends are created in the caller's namespace under random
	// names, then moved and renamed, so parallel runs, also of other
	// processes, never clash on interface names.
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return p, err
	}
	tag := hex.EncodeToString(b[:])
	tmpC, tmpS := "mc"+tag, "ms"+tag
	if err := Run("ip", "link", "add", tmpC, "type", "veth", "peer", "name", tmpS); err != nil {
		return p, err
	}
	if err := Run("ip", "link", "set", tmpC, "netns", topo.Client.Name, "name", p.ClientIf); err != nil {
		_ = Run("ip", "link", "delete", tmpC)
		return p, err
	}
	if err := Run("ip", "link", "set", tmpS, "netns", topo.Server.Name, "name", p.ServerIf); err != nil {
		return p, err
	}
	prefix := "/24"
	if v6 {
		p.ClientAddr = netip.MustParseAddr(fmt.Sprintf("fd00:200:%d::1", i))
		p.ServerAddr = netip.MustParseAddr(fmt.Sprintf("fd00:200:%d::2", i))
		prefix = "/64"
	} else {
		p.ClientAddr = netip.MustParseAddr(fmt.Sprintf("10.200.%d.1", i))
		p.ServerAddr = netip.MustParseAddr(fmt.Sprintf("10.200.%d.2", i))
	}
	for _, end := range []struct {
		ns   *NS
		dev  string
		addr netip.Addr
	}{{topo.Client, p.ClientIf, p.ClientAddr}, {topo.Server, p.ServerIf, p.ServerAddr}} {
		args := []string{"addr", "add", end.addr.String() + prefix, "dev", end.dev}
		if v6 {
			args = append(args, "nodad")
		}
		if _, err := end.ns.Output("ip", args...); err != nil {
			return p, err
		}
		if _, err := end.ns.Output("ip", "link", "set", end.dev, "up"); err != nil {
			return p, err
		}
	}
	return p, nil
}

// addSourceRoutes makes traffic from path N's client address to any server
// address leave through path N. A server address of another path is reached
// through path N's server address as gateway, because IPv6 neighbour
// discovery replies only for addresses of the receiving interface. The
// server needs no rules: its connected routes already answer on path N.
func (topo *Topology) addSourceRoutes(v6 bool) error {
	fam := "-4"
	if v6 {
		fam = "-6"
	}
	for i, p := range topo.Paths {
		table := fmt.Sprint(100 + i)
		if _, err := topo.Client.Output("ip", fam, "rule", "add", "from", p.ClientAddr.String(), "table", table); err != nil {
			return err
		}
		for _, q := range topo.Paths {
			args := []string{fam, "route", "add", q.ServerAddr.String()}
			if q != p {
				args = append(args, "via", p.ServerAddr.String())
			}
			args = append(args, "dev", p.ClientIf, "table", table)
			if _, err := topo.Client.Output("ip", args...); err != nil {
				return err
			}
		}
	}
	return nil
}
