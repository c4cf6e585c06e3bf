package main

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/config"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/daemon"
)

var runCfg = daemon.DefaultConfig()

var runCmd = &cobra.Command{
	Use:   "run",
	Short: "Run the path manager daemon in the current network namespace",
	Long: `Run the userspace MPTCP path manager in the current network namespace.

The namespace must use the userspace path manager (net.mptcp.pm_type=1;
--set-pm-type sets it). The daemon joins the mptcp_pm event group, opens
subflows according to --policy once a connection is established, streams
per-subflow statistics from BPF programs on TCP tracepoints (falling back to
inet_diag polling when BPF is unavailable) and stops on SIGINT or SIGTERM,
leaving the connections running.`,
	Args: cobra.NoArgs,
	RunE: runDaemon,
}

func init() {
	addRunFlags(runCmd.Flags())
	addRunFlags(rootCmd.Flags())
	rootCmd.RunE = runDaemon
	rootCmd.Args = cobra.NoArgs
	rootCmd.AddCommand(runCmd)
}

func addRunFlags(f *pflag.FlagSet) {
	a := &runCfg.Adaptive
	f.StringVar(&runCfg.Mode, "pm", runCfg.Mode, "path manager: userspace (the daemon opens subflows) or kernel (the daemon manages in-kernel endpoints)")
	f.StringVar(&runCfg.Policy, "policy", runCfg.Policy, "subflow policy: fullmesh, ndiffports, backup or adaptive")
	f.IntVar(&runCfg.NDiffPorts, "ndiffports", runCfg.NDiffPorts, "subflows over the initial address pair, the initial one included (policy ndiffports)")
	f.IntVar(&runCfg.MaxSubflows, "max-subflows", runCfg.MaxSubflows, "extra subflows the daemon opens per connection at most")
	f.StringSliceVar(&runCfg.BackupInterfaces, "backup-if", nil, "interfaces whose subflows or endpoints get the backup flag (policy backup), comma-separated")
	f.BoolVar(&runCfg.Announce, "announce", false, "on accepted connections, announce this host's other addresses to the peer and withdraw them when they go away")
	f.StringSliceVar(&runCfg.EndpointFlags, "endpoint-flags", runCfg.EndpointFlags, "flags of the endpoints added with --pm kernel: signal, subflow, backup, fullmesh, laminar")
	f.StringVar(&runCfg.FilterFile, "filter", "", "manage only the connections matching the JSON rules in `FILE`")
	f.Float64Var(&a.LossRatio, "adaptive-loss", a.LossRatio, "retransmitted share of sent bytes that turns a subflow backup (policy adaptive)")
	f.Float64Var(&a.RTTFactor, "adaptive-rtt-factor", a.RTTFactor, "smoothed RTT, as a multiple of the best subflow's, that turns a subflow backup (policy adaptive)")
	f.DurationVar(&a.RTTFloor, "adaptive-rtt-floor", a.RTTFloor, "smoothed RTT below which a subflow never counts as slow (policy adaptive)")
	f.DurationVar(&a.Window, "adaptive-window", a.Window, "window over which the loss share is measured (policy adaptive)")
	f.DurationVar(&a.RestoreAfter, "adaptive-restore", a.RestoreAfter, "time a backup subflow must stay healthy before it is restored (policy adaptive)")
	f.DurationVar(&a.RetryMin, "retry-min", a.RetryMin, "first delay before a subflow closed by an error is reopened (policy adaptive)")
	f.DurationVar(&a.RetryMax, "retry-max", a.RetryMax, "longest delay between reopening attempts (policy adaptive)")
	f.BoolVar(&runCfg.SetPMType, "set-pm-type", false, "set net.mptcp.pm_type to match --pm in this network namespace")
	f.BoolVar(&runCfg.BPF, "bpf", runCfg.BPF, "load the BPF statistics programs (false: inet_diag polling only)")
	f.BoolVar(&runCfg.BPFOptions.AllTCP, "bpf-all-tcp", false, "trace every TCP socket, not only MPTCP subflows")
	f.Uint32Var(&runCfg.BPFOptions.ReaderPriority, "bpf-reader-priority", runCfg.BPFOptions.ReaderPriority, "SCHED_FIFO priority (1-99) of the BPF reader thread, so urgent records reach the daemon at once on a busy host (0: normal priority)")
	f.IntVar(&runCfg.BPFOptions.RingSize, "bpf-ring-size", 0, "BPF ring buffer size in bytes, a power of two (0: the default, 1 MiB)")
	f.DurationVar(&runCfg.DiagInterval, "diag-interval", runCfg.DiagInterval, "period of the inet_diag reconciliation poll")
	f.DurationVar(&runCfg.FallbackInterval, "poll-interval", runCfg.FallbackInterval, "inet_diag poll period when BPF is unavailable")
	f.IntVar(&runCfg.EventBuffer, "event-buffer", runCfg.EventBuffer, "receive buffer of the event socket, in bytes")
	f.StringVar(&runCfg.RecordDir, "record", "", "write JSON Lines statistics and events of this run to `DIR`")
	f.Int64Var(&runCfg.RecordLimit, "record-limit", runCfg.RecordLimit, "stop recording after this many bytes of series data")
	f.BoolVar(&runCfg.IncludeLinkLocal, "link-local", false, "open subflows from link-local addresses too")
	f.StringVar(&runCfg.Optimizer, "optimizer", "", "run `PROG` every --optimizer-interval per managed connection, with the connection and its subflows as JSON on stdin; "+
		"PROG prints a JSON array of cwnd caps in segments, one per subflow (0: no cap). A cap limits the subflow's congestion window and "+
		"also forces its ssthresh to the cap (TCP_BPF_SNDCWND_CLAMP), which can lower aggregate throughput unevenly: see docs/OPTIMIZER.md")
	f.StringArrayVar(&runCfg.OptimizerArgs, "optimizer-arg", nil, "argument passed to the optimizer program (repeatable)")
	f.DurationVar(&runCfg.OptimizerInterval, "optimizer-interval", runCfg.OptimizerInterval, "period of the optimizer runs")
	f.DurationVar(&runCfg.OptimizerTimeout, "optimizer-timeout", runCfg.OptimizerTimeout, "time after which an optimizer run is killed and its round skipped")
	f.StringVar(&runCfg.ClampCgroup, "optimizer-cgroup", "", "cgroup v2 `DIR` whose sockets the optimizer's caps apply to (default: the cgroup v2 root)")
	f.StringVar(&configFile, "config", "", "read flag values from `FILE` (key = value lines named like the flags); flags on the command line win")
	f.StringVar(&controlSocket, "control-socket", "", "path of the control socket, mode 0600 (default: per network namespace under "+controlSocketDir+"; none: disabled)")
	f.StringVar(&runCfg.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics on `HOST:PORT`, such as 127.0.0.1:9464 (default: off)")
	f.BoolVar(&runCfg.MetricsSubflows, "metrics-subflows", false, "export per-subflow metrics (rtt, cwnd, bytes), labelled by token and addresses")
	f.IntVar(&runCfg.MetricsMaxSubflows, "metrics-max-subflows", runCfg.MetricsMaxSubflows, "subflows that get per-subflow series at most, to bound label cardinality")
}

// controlSocket is the --control-socket value before defaults apply.
var controlSocket string

// configFile is the --config value.
var configFile string

func runDaemon(cmd *cobra.Command, _ []string) error {
	// Catch signals before anything changes the host, so that a signal
	// during start-up still leads to a clean stop. Notify also re-enables
	// a SIGINT that the parent shell set to ignored.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if configFile != "" {
		if err := config.Apply(configFile, cmd.Flags()); err != nil {
			return usageError{err}
		}
		// The file may set the log level and format.
		if err := setupLogging(cmd, nil); err != nil {
			return err
		}
	}
	if err := runCfg.Validate(); err != nil {
		return usageError{err}
	}
	if runCfg.FilterFile != "" {
		if _, err := daemon.LoadFilter(runCfg.FilterFile); err != nil {
			return usageError{err}
		}
	}
	switch controlSocket {
	case "":
		runCfg.ControlSocket = defaultControlSocket()
	case "none":
		runCfg.ControlSocket = ""
	default:
		runCfg.ControlSocket = controlSocket
	}
	runCfg.Log = log
	runCfg.Options = map[string]any{}
	cmd.Flags().Visit(func(f *pflag.Flag) { runCfg.Options[f.Name] = f.Value.String() })
	runCfg.Options["args"] = strings.Join(os.Args, " ")
	runCfg.Version = versionString()

	d, err := daemon.New(runCfg)
	if err != nil {
		return err
	}
	// A signal that came during New makes Run stop at once, after the
	// same clean-up as a later one.
	start := time.Now()
	err = d.Run(ctx)
	log.WithField("uptime", time.Since(start).Round(time.Millisecond)).Debug("run finished")
	return err
}
