// Command mptcp-lab runs the demo: it builds a client and a server network
// namespace joined by several veth paths, starts mptcp-bpf-pm in the
// client namespace as its userspace path manager, runs an MPTCP bulk
// transfer and prints a per-subflow summary from BPF and from inet_diag.
//
// Everything it creates lives in its own namespaces, which it deletes on
// exit, on error and on SIGINT or SIGTERM. Traffic stays inside them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

type options struct {
	paths     int
	ipv6      bool
	duration  time.Duration
	binDir    string
	recordDir string
	port      int
	verbose   bool
}

func parseFlags() (options, error) {
	var o options
	flag.IntVar(&o.paths, "paths", 2, "number of veth paths between client and server (1-8)")
	flag.BoolVar(&o.ipv6, "ipv6", false, "use IPv6 addresses (fd00:200:N::/64) in place of IPv4")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of the bulk transfer")
	flag.StringVar(&o.binDir, "bin", "bin", "directory holding the mptcp-bpf-pm and mptcp-traffic binaries")
	flag.StringVar(&o.recordDir, "record", "", "keep the daemon's recorded run in `DIR` (default: a temporary directory, removed)")
	flag.IntVar(&o.port, "port", 5201, "server port inside the lab")
	flag.BoolVar(&o.verbose, "v", false, "show the daemon's log")
	flag.Parse()
	if flag.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: mptcp-lab takes flags only", flag.Arg(0))
	}
	if o.paths < 1 || o.paths > 8 {
		return o, fmt.Errorf("invalid -paths %d: want 1 to 8", o.paths)
	}
	if o.duration < time.Second || o.duration > 10*time.Minute {
		return o, fmt.Errorf("invalid -duration %s: want 1s to 10m", o.duration)
	}
	if o.port < 1 || o.port > 65535 {
		return o, fmt.Errorf("invalid -port %d: want 1 to 65535", o.port)
	}
	return o, nil
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mptcp-lab: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = run(ctx, o)
	if ctx.Err() != nil {
		// Interrupted: the lab is already removed by run's cleanup.
		fmt.Fprintln(os.Stderr, "mptcp-lab: interrupted, lab removed")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mptcp-lab: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root to create network namespaces and load BPF programs: run it with sudo")
	}
	bins, err := findBinaries(o.binDir)
	if err != nil {
		return err
	}
	recordDir := o.recordDir
	if recordDir == "" {
		tmp, err := os.MkdirTemp("", "mptcp-lab-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		recordDir = filepath.Join(tmp, "run")
	}

	fmt.Printf("== building lab: %d paths, %s\n", o.paths, family(o.ipv6))
	topo, err := netlab.Build(netlab.Options{Paths: o.paths, IPv6: o.ipv6, ClientPM: "userspace"})
	if err != nil {
		return fmt.Errorf("build lab: %w", err)
	}
	defer func() {
		topo.Close()
		fmt.Println("== lab removed")
	}()
	for _, p := range topo.Paths {
		fmt.Printf("   path %s: client %s <-> server %s\n", p.ClientIf, p.ClientAddr, p.ServerAddr)
	}
	return demo(ctx, o, bins, topo, recordDir)
}

type binaries struct{ daemon, traffic string }

func findBinaries(dir string) (binaries, error) {
	b := binaries{
		daemon:  filepath.Join(dir, "mptcp-bpf-pm"),
		traffic: filepath.Join(dir, "mptcp-traffic"),
	}
	for _, p := range []string{b.daemon, b.traffic} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("missing %s: build it with make build, or point -bin at its directory", p)
		}
	}
	var err error
	if b.daemon, err = filepath.Abs(b.daemon); err != nil {
		return b, err
	}
	b.traffic, err = filepath.Abs(b.traffic)
	return b, err
}

func family(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}
