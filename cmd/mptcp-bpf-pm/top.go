package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/top"
)

var topFlags struct {
	socket   string
	source   string
	netns    string
	interval time.Duration
	count    int
	sort     string
	reverse  bool
	filter   string
	json     bool
	batch    bool
	width    int
	history  int
}

var topCmd = &cobra.Command{
	Use:   "top",
	Short: "Show connections and subflows live, with rates and history",
	Long: `Show one row per MPTCP subflow, refreshed every --interval: connection
token, local and remote address, local/remote address ids, backup flag (B),
state, smoothed RTT in milliseconds, congestion window in segments, send
rate (acknowledged bytes per second, as bits per second), retransmitted
segments and a history of the send rate.

The rows come from the running daemon's control socket when it listens,
else from inet_diag polling of the current (or --netns) namespace, which
needs no daemon.

On a terminal the view is interactive: q quits, s cycles the sort column,
r reverses the order, / edits the filter (Enter applies, Escape clears) and
p pauses. When standard output is not a terminal, or with --batch or
--json, it prints a table (or a JSON line) per refresh instead.`,
	Args: usageArgs(cobra.NoArgs),
	RunE: runTop,
}

func init() {
	f := topCmd.Flags()
	f.StringVar(&topFlags.socket, "socket", "", "control socket `PATH` (default: the one of this network namespace's daemon)")
	f.StringVar(&topFlags.source, "source", "auto", "row source: auto (daemon, else inet_diag), daemon or diag")
	f.StringVar(&topFlags.netns, "netns", "", "read the network namespace at `PATH`, such as /run/netns/NAME")
	f.DurationVar(&topFlags.interval, "interval", time.Second, "refresh period")
	f.IntVar(&topFlags.count, "count", 0, "stop after this many refreshes (0: no limit)")
	f.StringVar(&topFlags.sort, "sort", "token", "sort column: token, path, state, rtt, cwnd, rate, retrans")
	f.BoolVar(&topFlags.reverse, "reverse", false, "reverse the sort order")
	f.StringVar(&topFlags.filter, "filter", "", "show only subflows whose token, address, interface or state contains `TEXT`")
	f.BoolVar(&topFlags.json, "json", false, "print one JSON line per refresh (implies --batch)")
	f.BoolVar(&topFlags.batch, "batch", false, "print text tables even on a terminal")
	f.IntVar(&topFlags.width, "width", 0, "text table width in columns (default: the terminal's, or 80)")
	f.IntVar(&topFlags.history, "history", top.DefaultHistory, "send-rate samples kept per subflow")
	topCmd.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(top.SortKeys, cobra.ShellCompDirectiveNoFileComp))
	topCmd.RegisterFlagCompletionFunc("source", cobra.FixedCompletions([]string{"auto", "daemon", "diag"}, cobra.ShellCompDirectiveNoFileComp))
	rootCmd.AddCommand(topCmd)
}

func topOptions() (top.Options, error) {
	o := top.Options{
		Interval: topFlags.interval,
		Count:    topFlags.count,
		View:     top.View{Sort: topFlags.sort, Reverse: topFlags.reverse, Filter: topFlags.filter},
		History:  topFlags.history,
		JSON:     topFlags.json,
		Width:    topFlags.width,
	}
	if err := top.ValidSort(o.View.Sort); err != nil {
		return o, usageError{fmt.Errorf("invalid --sort: %w", err)}
	}
	if o.Interval < control.MinWatchInterval || o.Interval > control.MaxWatchInterval {
		return o, usageErrorf("invalid --interval %v: want %v to %v", o.Interval, control.MinWatchInterval, control.MaxWatchInterval)
	}
	if o.Count < 0 || o.History < 1 || o.Width < 0 {
		return o, usageErrorf("invalid --count, --history or --width: want --count 0 or more, --history 1 or more, --width 0 or more")
	}
	return o, nil
}

func runTop(cmd *cobra.Command, _ []string) error {
	opts, err := topOptions()
	if err != nil {
		return err
	}
	src, closeSrc, err := topSource()
	if err != nil {
		return err
	}
	defer closeSrc()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out := cmd.OutOrStdout()
	fd := int(os.Stdout.Fd())
	interactive := out == os.Stdout && term.IsTerminal(fd) && !topFlags.batch && !topFlags.json
	if interactive {
		return top.RunTerminal(ctx, src, nil, opts)
	}
	if opts.Width == 0 && out == os.Stdout && term.IsTerminal(fd) {
		if w, _, err := term.GetSize(fd); err == nil {
			opts.Width = w
		}
	}
	return top.RunText(ctx, src, out, opts)
}

// topSource returns the daemon's stream, or inet_diag polling when no
// daemon listens and --source allows it.
func topSource() (top.Source, func(), error) {
	source := topFlags.source
	if topFlags.netns != "" && source == "auto" {
		source = "diag"
	}
	socket := topFlags.socket
	if socket == "" {
		socket = defaultControlSocket()
	}
	switch source {
	case "auto", "daemon":
		c, err := control.Dial(socket)
		if err == nil {
			return top.DaemonSource{Client: c}, func() {}, nil
		}
		if source == "daemon" || !noDaemon(err) {
			return nil, nil, fmt.Errorf("%w: start the daemon, or use --source diag", err)
		}
		log.WithError(err).Debug("no daemon, reading inet_diag")
		return topDiagSource()
	case "diag":
		return topDiagSource()
	}
	return nil, nil, usageErrorf("invalid --source %q: want auto, daemon or diag", source)
}

// noDaemon reports whether err means that no daemon listens, as opposed
// to a daemon that rejects the caller.
func noDaemon(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}

func topDiagSource() (top.Source, func(), error) {
	cfg := &diag.Config{}
	if topFlags.netns != "" {
		f, err := os.Open(topFlags.netns)
		if err != nil {
			return nil, nil, usageErrorf("invalid --netns: %v", err)
		}
		defer f.Close()
		cfg.NetNS = int(f.Fd())
	}
	c, err := diag.Dial(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("open inet_diag: %w", err)
	}
	return top.DiagSource{Conn: c}, func() { c.Close() }, nil
}
