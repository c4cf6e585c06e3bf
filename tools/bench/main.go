// Command mptcp-bench measures this project's path manager against the
// in-kernel path manager and mptcpd (its addr_adv plugin with the
// in-kernel PM, its sspi plugin with the userspace PM) in network
// namespaces on the running kernel, alternating the systems in one run.
//
// It writes every measurement as JSON and renders markdown tables from
// it. It exits 1 when a system cannot be started at all, such as a
// missing package or binary or a failed set-up. A system that starts but
// does not do the job is a result row with the reason.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// verbose makes the path managers' logs go to stderr (flag -v).
var verbose = new(bool)

// config holds the flags.
type config struct {
	binDir  string
	daemon  string
	traffic string
	mptcpd  string
	plugins string
	jsonOut string
	docOut  string
	render  string
	quick   bool
	figures map[int]bool
	sizes   sizes
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("mptcp-bench", flag.ContinueOnError)
	c := &config{}
	var figs, only string
	fs.StringVar(&c.binDir, "bin", "bin", "directory with the mptcp-bpf-pm and mptcp-traffic binaries")
	fs.StringVar(&c.mptcpd, "mptcpd", "/usr/libexec/mptcpd", "mptcpd binary (Debian package mptcpd)")
	fs.StringVar(&c.plugins, "mptcpd-plugins", "/usr/lib/x86_64-linux-gnu/mptcpd", "mptcpd plugin directory (Debian package mptcpd-plugins)")
	fs.StringVar(&c.jsonOut, "json", "", "write the results to `FILE` (default docs/bench/results.json, none with -quick)")
	fs.StringVar(&c.docOut, "doc", "", "render the results to `FILE` (default docs/BENCHMARKS.md, none with -quick)")
	fs.StringVar(&c.render, "render", "", "render the results in `FILE` (to -doc if given, else the tables to stdout) and exit; runs nothing")
	fs.BoolVar(&c.quick, "quick", false, "small sizes and short runs (about 2 minutes), for CI")
	fs.StringVar(&figs, "figures", "1,2,3,4,5,6,7", "comma-separated figures to run (5 and 6 share one run)")
	fs.StringVar(&only, "systems", "", "comma-separated system names to run (default all); a partial run is not for the document")
	fs.BoolVar(verbose, "v", false, "print the logs of the path managers")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}

	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: mptcp-bench takes flags only", fs.Arg(0))
	}
	c.figures = map[int]bool{}
	for _, f := range strings.Split(figs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 7 {
			return nil, fmt.Errorf("invalid -figures entry %q: want numbers 1 to 7", f)
		}
		c.figures[n] = true
	}
	if only != "" {
		if err := selectSystems(only); err != nil {
			return nil, err
		}
	}
	if !c.quick && only == "" && c.render == "" {
		c.jsonOut = cmp(c.jsonOut, "docs/bench/results.json")
		c.docOut = cmp(c.docOut, "docs/BENCHMARKS.md")
	}
	c.sizes = fullSizes
	if c.quick {
		c.sizes = quickSizes
	}
	c.daemon = filepath.Join(c.binDir, "mptcp-bpf-pm")
	c.traffic = filepath.Join(c.binDir, "mptcp-traffic")
	return c, nil
}

// selectSystems keeps only the named systems in every figure's list.
func selectSystems(names string) error {
	keep := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		keep[strings.TrimSpace(n)] = true
	}
	used := map[string]bool{}
	filter := func(specs []sysSpec) []sysSpec {
		var out []sysSpec
		for _, s := range specs {
			if keep[s.Name] {
				out = append(out, s)
				used[s.Name] = true
			}
		}
		return out
	}
	all := []*[]sysSpec{&mainSystems, &churnSystems, &throughputSystems, &failoverSystems}
	for _, l := range all {
		*l = filter(*l)
	}
	for n := range keep {
		if used[n] {
			continue
		}
		return fmt.Errorf("invalid -systems entry %q: want kernel, mptcpd-addr_adv, mptcpd-sspi, daemon, \"daemon --bpf=false\", \"daemon --log-level warn\" or \"daemon --policy adaptive\"", n)
	}
	return nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func main() {
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "mptcp-bench: %v\n", err)
		os.Exit(2)
	}
	if c.render != "" {
		if err := renderFile(c.render, c.docOut); err != nil {
			fmt.Fprintf(os.Stderr, "mptcp-bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintf(os.Stderr, "mptcp-bench: %v\n", err)
		os.Exit(1)
	}
}

// renderFile renders saved results: the whole document to doc when it is
// set, else the tables to stdout.
func renderFile(path, doc string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if doc == "" {
		return renderMarkdown(os.Stdout, &r)
	}
	return writeDoc(doc, &r, path)
}

func run(ctx context.Context, c *config) error {
	if err := preflight(c); err != nil {
		return err
	}
	raiseFileLimit()
	start := time.Now()
	r := &Results{
		Command: "mptcp-bench " + strings.Join(os.Args[1:], " "),
		Started: start.UTC().Format(time.RFC3339),
		Quick:   c.quick,
		Machine: describeMachine(),
	}
	for _, s := range []sysSpec{sysKernel, sysAddrAdv, sysSSPI, sysDaemon, sysDaemonNoBPF, sysDaemonQuiet, sysDaemonAdaptive} {
		r.Systems = append(r.Systems, System{Name: s.Name, Description: s.Desc})
	}
	if err := runFigures(ctx, c, r); err != nil {
		return err
	}
	r.Machine.LoadAfter = loadAvg()
	r.Finished = time.Now().UTC().Format(time.RFC3339)
	r.Seconds = time.Since(start).Round(time.Second).Seconds()
	if err := renderMarkdown(os.Stdout, r); err != nil {
		return err
	}
	return writeOutputs(c, r)
}

func runFigures(ctx context.Context, c *config, r *Results) error {
	steps := []struct {
		fig int
		fn  func(context.Context, *config, *Results) error
	}{
		{1, figLatency}, {2, figChurn}, {3, figThroughput},
		{4, figFreshness}, {5, figScale}, {7, figFailover},
	}
	for _, s := range steps {
		if !c.figures[s.fig] && !(s.fig == 5 && c.figures[6]) {
			continue
		}
		fmt.Fprintf(os.Stderr, "== figure %d (%s)\n", s.fig, time.Now().Format("15:04:05"))
		if err := s.fn(ctx, c, r); err != nil {
			return fmt.Errorf("figure %d: %w", s.fig, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func writeOutputs(c *config, r *Results) error {
	if c.jsonOut != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(c.jsonOut), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if c.docOut == "" {
		return nil
	}
	return writeDoc(c.docOut, r, c.jsonOut)
}

func writeDoc(path string, r *Results, jsonPath string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := renderDoc(f, r, jsonPath); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// preflight checks that every system can be started before any runs.
func preflight(c *config) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root to create network namespaces and load BPF programs: run it as root")
	}
	need := []struct{ path, fix string }{
		{c.daemon, "build it with make build, or point -bin at its directory"},
		{c.traffic, "build it with make build, or point -bin at its directory"},
		{c.mptcpd, "install the Debian package mptcpd (apt-get install -y mptcpd)"},
		{filepath.Join(c.plugins, "addr_adv.so"), "install the Debian package mptcpd-plugins, or point -mptcpd-plugins at the plugin directory"},
		{filepath.Join(c.plugins, "sspi.so"), "install the Debian package mptcpd-plugins, or point -mptcpd-plugins at the plugin directory"},
	}
	for _, n := range need {
		if _, err := os.Stat(n.path); err != nil {
			return fmt.Errorf("cannot start the systems: %s is missing: %s", n.path, n.fix)
		}
	}
	for _, p := range []*string{&c.daemon, &c.traffic} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	b, err := os.ReadFile("/proc/sys/net/mptcp/enabled")
	if err != nil {
		return fmt.Errorf("cannot start the systems: kernel without MPTCP (%w)", err)
	}
	_ = b
	return nil
}

// raiseFileLimit raises the soft RLIMIT_NOFILE to the hard limit, so
// the harness can hold the client ends of 10,000 connections.
func raiseFileLimit() {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	lim.Cur = lim.Max
	_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
}
