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
	f.StringVar(&runCfg.Policy, "policy", runCfg.Policy, "subflow policy: fullmesh")
	f.BoolVar(&runCfg.SetPMType, "set-pm-type", false, "set net.mptcp.pm_type=1 (userspace path manager) in this network namespace")
	f.BoolVar(&runCfg.BPF, "bpf", runCfg.BPF, "load the BPF statistics programs (false: inet_diag polling only)")
	f.BoolVar(&runCfg.BPFOptions.AllTCP, "bpf-all-tcp", false, "trace every TCP socket, not only MPTCP subflows")
	f.DurationVar(&runCfg.DiagInterval, "diag-interval", runCfg.DiagInterval, "period of the inet_diag reconciliation poll")
	f.DurationVar(&runCfg.FallbackInterval, "poll-interval", runCfg.FallbackInterval, "inet_diag poll period when BPF is unavailable")
	f.IntVar(&runCfg.EventBuffer, "event-buffer", runCfg.EventBuffer, "receive buffer of the event socket, in bytes")
	f.StringVar(&runCfg.RecordDir, "record", "", "write JSON Lines statistics and events of this run to `DIR`")
	f.Int64Var(&runCfg.RecordLimit, "record-limit", runCfg.RecordLimit, "stop recording after this many bytes of series data")
	f.BoolVar(&runCfg.IncludeLinkLocal, "link-local", false, "open subflows from link-local addresses too")
}

func runDaemon(cmd *cobra.Command, _ []string) error {
	if err := daemon.ValidatePolicy(runCfg.Policy); err != nil {
		return usageError{err}
	}
	if runCfg.DiagInterval <= 0 || runCfg.FallbackInterval <= 0 {
		return usageErrorf("invalid poll interval: --diag-interval and --poll-interval must be positive durations such as 1s or 300ms")
	}
	if runCfg.EventBuffer < 64<<10 {
		return usageErrorf("invalid --event-buffer %d: want at least 65536 bytes", runCfg.EventBuffer)
	}
	runCfg.Log = log
	runCfg.Options = map[string]any{}
	cmd.Flags().Visit(func(f *pflag.Flag) { runCfg.Options[f.Name] = f.Value.String() })
	runCfg.Options["args"] = strings.Join(os.Args, " ")

	d, err := daemon.New(runCfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	err = d.Run(ctx)
	log.WithField("uptime", time.Since(start).Round(time.Millisecond)).Debug("run finished")
	return err
}
