package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/config"
)

var docsCmd = &cobra.Command{
	Use:   "docs",
	Short: "Generate man pages, Markdown help or an example config file",
	Long: `Generate reference documentation from the command definitions, so
that it always matches the binary.`,
}

var docsManCmd = &cobra.Command{
	Use:   "man DIR",
	Short: "Write one man page per command into DIR (section 8)",
	Long: `Write one troff man page per command into DIR, such as
mptcp-bpf-pm.8 and mptcp-bpf-pm-run.8. Install them with
  install -m 644 DIR/*.8 /usr/local/share/man/man8/`,
	Args: usageArgs(cobra.ExactArgs(1)),
	RunE: func(_ *cobra.Command, args []string) error {
		if err := os.MkdirAll(args[0], 0o755); err != nil {
			return err
		}
		header := &doc.GenManHeader{
			Title:   "MPTCP-BPF-PM",
			Section: "8",
			Source:  "mptcp-bpf-pm " + versionString(),
			Manual:  "System Manager's Manual",
		}
		rootCmd.DisableAutoGenTag = true
		return doc.GenManTree(rootCmd, header, args[0])
	},
}

var docsMarkdownCmd = &cobra.Command{
	Use:   "markdown DIR",
	Short: "Write one Markdown page per command into DIR",
	Args:  usageArgs(cobra.ExactArgs(1)),
	RunE: func(_ *cobra.Command, args []string) error {
		if err := os.MkdirAll(args[0], 0o755); err != nil {
			return err
		}
		rootCmd.DisableAutoGenTag = true
		return doc.GenMarkdownTree(rootCmd, args[0])
	},
}

var docsConfigCmd = &cobra.Command{
	Use:   "config",
	Short: "Print a config file that sets every flag of run to its default",
	Long: `Print a configuration file for "mptcp-bpf-pm run --config FILE" with
every flag of run and the global flags at their default values, each after
its help text. Flags on the command line override the file.`,
	Args: usageArgs(cobra.NoArgs),
	RunE: func(cmd *cobra.Command, _ []string) error {
		out := cmd.OutOrStdout()
		fmt.Fprintln(out, "# mptcp-bpf-pm configuration: one \"key = value\" per line, keys are")
		fmt.Fprintln(out, "# the long flags of \"mptcp-bpf-pm run\". Command-line flags override it.")
		fmt.Fprintln(out)
		return config.Write(out, runFlagSet())
	},
}

// runFlagSet returns the flags a config file can set: those of run and
// the global ones, at their defaults.
func runFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.AddFlagSet(rootCmd.PersistentFlags())
	fs.AddFlagSet(runCmd.LocalFlags())
	return fs
}

func init() {
	docsCmd.AddCommand(docsManCmd, docsMarkdownCmd, docsConfigCmd)
	rootCmd.AddCommand(docsCmd)
	wrapFlagHelp(rootCmd, helpWidth)
}

// helpWidth is the width that --help wraps flag descriptions at.
const helpWidth = 80

// wrapFlagHelp makes the help of cmd and its subcommands wrap flag
// descriptions at width columns; cobra's default template never wraps.
func wrapFlagHelp(cmd *cobra.Command, width int) {
	t := cmd.UsageTemplate()
	for _, set := range []string{".LocalFlags", ".InheritedFlags"} {
		t = strings.ReplaceAll(t, set+".FlagUsages", fmt.Sprintf("(%s.FlagUsagesWrapped %d)", set, width))
	}
	cmd.SetUsageTemplate(t)
}

// usageArgs marks the errors of an argument check as usage errors, so
// that they exit with code 2 like flag errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
