// Command mptcp-bpf-pm is a Multipath TCP path manager for Linux with an
// eBPF fast path for per-subflow statistics.
//
// Subcommands live one per file in this package and add themselves to
// rootCmd from an init function.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// Exit codes, documented in README.md.
const (
	exitOK    = 0
	exitError = 1 // the command failed at run time
	exitUsage = 2 // invalid flags or arguments
)

var (
	logLevel  string
	logFormat string
	log       = logrus.New()
)

var rootCmd = &cobra.Command{
	Use:   "mptcp-bpf-pm",
	Short: "Multipath TCP path manager with an eBPF fast path",
	Long: `mptcp-bpf-pm manages MPTCP subflows through the kernel's mptcp_pm
generic netlink family, reads authoritative socket state over inet_diag and
streams per-subflow statistics from BPF programs on TCP tracepoints.

Without a subcommand it runs the daemon, the same as "mptcp-bpf-pm run".`,
	SilenceUsage:      true,
	SilenceErrors:     true,
	PersistentPreRunE: setupLogging,
}

func setupLogging(*cobra.Command, []string) error {
	level, err := logrus.ParseLevel(logLevel)
	if err != nil {
		return usageErrorf("invalid --log-level %q: want panic, fatal, error, warn, info, debug or trace", logLevel)
	}
	log.SetLevel(level)
	log.SetOutput(os.Stderr)
	switch logFormat {
	case "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return usageErrorf("invalid --log-format %q: want text or json", logFormat)
	}
	return nil
}

func init() {
	pf := rootCmd.PersistentFlags()
	pf.StringVar(&logLevel, "log-level", "info", "log level: error, warn, info, debug or trace")
	pf.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	rootCmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError{err}
	})
}

// usageError marks an error in flags or arguments, reported with exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func main() {
	// No subcommand means "run": cobra then calls rootCmd.RunE, which
	// run.go sets.
	err := rootCmd.Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintf(os.Stderr, "mptcp-bpf-pm: %v\n", err)
	var ue usageError
	// cobra reports an unknown subcommand and extra arguments as plain
	// errors; both are usage errors.
	if asUsage(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") ||
		strings.Contains(err.Error(), "accepts ") {
		os.Exit(exitUsage)
	}
	os.Exit(exitError)
}
