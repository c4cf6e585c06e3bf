package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// Kinds of path manager.
const (
	kindKernel = "kernel"
	kindMptcpd = "mptcpd"
	kindDaemon = "daemon"
)

// sysSpec is one path-manager configuration under test.
type sysSpec struct {
	Name     string
	Desc     string
	Kind     string
	ClientPM string   // pm_type of the client namespace: kernel or userspace
	Plugin   string   // mptcpd plugin
	Args     []string // extra daemon flags
}

var (
	sysKernel = sysSpec{Name: "kernel", Kind: kindKernel, ClientPM: "kernel",
		Desc: "in-kernel PM, one endpoint per extra client address with the subflow flag"}
	sysAddrAdv = sysSpec{Name: "mptcpd-addr_adv", Kind: kindMptcpd, ClientPM: "kernel", Plugin: "addr_adv",
		Desc: "mptcpd, address-advertising plugin (--addr-flags=subflow) driving the in-kernel PM"}
	sysSSPI = sysSpec{Name: "mptcpd-sspi", Kind: kindMptcpd, ClientPM: "userspace", Plugin: "sspi",
		Desc: "mptcpd, single-subflow-per-interface plugin with the userspace PM"}
	sysDaemon = sysSpec{Name: "daemon", Kind: kindDaemon, ClientPM: "userspace",
		Desc: "mptcp-bpf-pm, userspace PM, policy fullmesh, BPF statistics on"}
	sysDaemonNoBPF = sysSpec{Name: "daemon --bpf=false", Kind: kindDaemon, ClientPM: "userspace",
		Args: []string{"--bpf=false"},
		Desc: "mptcp-bpf-pm with its BPF programs not loaded"}
	sysDaemonQuiet = sysSpec{Name: "daemon --log-level warn", Kind: kindDaemon, ClientPM: "userspace",
		Args: []string{"--log-level", "warn"},
		Desc: "mptcp-bpf-pm logging warnings only (a diagnostic: where its CPU goes)"}
	sysDaemonAdaptive = sysSpec{Name: "daemon --policy adaptive", Kind: kindDaemon, ClientPM: "userspace",
		Args: []string{"--policy", "adaptive"},
		Desc: "mptcp-bpf-pm, policy adaptive"}
)

// mainSystems are the systems every figure compares.
var mainSystems = []sysSpec{sysKernel, sysAddrAdv, sysSSPI, sysDaemon}

// lab is one topology with its path manager running.
type lab struct {
	topo *netlab.Topology
	spec sysSpec
	proc *proc // nil for the in-kernel PM
	dir  string
	// record makes the daemon write its statistics (--record), which
	// costs CPU, so only the freshness figure sets it.
	record bool
}

// expected is the number of extra subflows per connection: one from each
// other client address to the server address.
func (l *lab) expected() int { return len(l.topo.Paths) - 1 }

// buildLab creates a topology for spec with the given number of paths.
func buildLab(spec sysSpec, paths int) (*lab, error) {
	topo, err := netlab.Build(netlab.Options{Paths: paths, ClientPM: spec.ClientPM, Prefix: "mptcp-bench"})
	if err != nil {
		return nil, fmt.Errorf("%s: build lab: %w", spec.Name, err)
	}
	l := &lab{topo: topo, spec: spec}
	tune := [][3]any{
		{topo.Client, "net.ipv4.tcp_tw_reuse", "1"},
		{topo.Client, "net.ipv4.ip_local_port_range", "10000 65000"},
		{topo.Server, "net.core.somaxconn", "8192"},
		{topo.Server, "net.ipv4.tcp_max_syn_backlog", "8192"},
	}
	for _, t := range tune {
		if err := t[0].(*netlab.NS).Sysctl(t[1].(string), t[2].(string)); err != nil {
			l.close()
			return nil, fmt.Errorf("%s: %w", spec.Name, err)
		}
	}
	return l, nil
}

// start starts the path manager. An error means the system could not be
// started at all, which ends the harness run.
func (l *lab) start(cfg *config) error {
	var err error
	switch l.spec.Kind {
	case kindKernel:
		err = l.addEndpoints()
	case kindMptcpd:
		err = l.startMptcpd(cfg)
	case kindDaemon:
		err = l.startDaemon(cfg)
	}
	if err != nil {
		return fmt.Errorf("system %s cannot be started: %w", l.spec.Name, err)
	}
	return nil
}

func (l *lab) addEndpoints() error {
	for _, p := range l.topo.Paths[1:] {
		_, err := l.topo.Client.Output("ip", "mptcp", "endpoint", "add",
			p.ClientAddr.String(), "dev", p.ClientIf, "subflow")
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *lab) startMptcpd(cfg *config) error {
	cmd := l.topo.Client.Command(cfg.mptcpd,
		"--log=stderr", "--plugin-dir="+cfg.plugins,
		"--load-plugins="+l.spec.Plugin, "--path-manager="+l.spec.Plugin,
		"--addr-flags=subflow",
		"--notify-flags=existing,skip_link_local,skip_loopback")
	p, err := startProc(l.spec.Name, cmd, "path manager initialized",
		[]string{"No buffer space", "ENOBUFS"}, false, 10*time.Second)
	if err != nil {
		return err
	}
	l.proc = p
	if l.spec.Plugin == "addr_adv" {
		// addr_adv adds the endpoints shortly after start; wait for
		// them so the first connections are not measured without.
		l.waitEndpoints(len(l.topo.Paths), 3*time.Second)
	}
	return nil
}

// waitEndpoints waits until the endpoint table has n entries, one line
// each in "ip mptcp endpoint show", or timeout passes.
func (l *lab) waitEndpoints(n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out, err := l.topo.Client.Output("ip", "mptcp", "endpoint", "show")
		if err == nil && strings.Count(out, " id ") >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *lab) startDaemon(cfg *config) error {
	// The default log level, info, is kept: it is what a plain
	// "mptcp-bpf-pm run" does, and it logs the ready line.
	args := []string{"run", "--control-socket", "none"}
	if l.record {
		dir, err := os.MkdirTemp("", "mptcp-bench-")
		if err != nil {
			return err
		}
		l.dir = dir
		args = append(args, "--record", l.recordDir())
	}
	cmd := l.topo.Client.Command(cfg.daemon, append(args, l.spec.Args...)...)
	ready := "daemon ready"
	if l.quiet() {
		// Nothing is logged at start; the caller probes instead.
		ready = ""
	}
	p, err := startProc(l.spec.Name, cmd, ready,
		[]string{"events were lost"}, false, 15*time.Second)
	if err != nil {
		return err
	}
	l.proc = p
	return nil
}

// quiet reports whether the path manager logs nothing when it is ready.
func (l *lab) quiet() bool {
	return strings.Contains(strings.Join(l.spec.Args, " "), "--log-level warn")
}

// probeReady opens connections until one gets all its subflows, for a
// path manager that does not log when it is ready; at most 15 tries.
func (l *lab) probeReady(ctx context.Context, obs *observer, addr string) error {
	for i := 0; i < 15 && ctx.Err() == nil; i++ {
		res := oneConnection(ctx, l, obs, addr, time.Second)
		if res.err == nil && len(res.subflows) >= l.expected() {
			return nil
		}
		if l.proc != nil && !l.proc.alive() {
			break
		}
	}
	return fmt.Errorf("system %s cannot be started: no connection got its subflows in 15 probes: %s",
		l.spec.Name, l.proc.logTail(8))
}

// recordDir is the daemon's --record directory.
func (l *lab) recordDir() string { return filepath.Join(l.dir, "rec") }

// close stops the path manager and deletes the namespaces.
func (l *lab) close() {
	if l.proc != nil {
		_ = l.proc.stop()
	}
	l.topo.Close()
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}
