package main

import (
	"github.com/spf13/cobra"
)

var completionCmd = &cobra.Command{
	Use:   "completion bash|zsh|fish",
	Short: "Print a shell completion script for bash, zsh or fish",
	Long: `Print a completion script for the given shell to standard output. It
completes subcommands, flags and flag values such as --policy.

bash (needs the bash-completion package):
  mptcp-bpf-pm completion bash > /etc/bash_completion.d/mptcp-bpf-pm

zsh (the directory must be in $fpath, and compinit must run in .zshrc):
  mptcp-bpf-pm completion zsh > "${fpath[1]}/_mptcp-bpf-pm"

fish:
  mptcp-bpf-pm completion fish > ~/.config/fish/completions/mptcp-bpf-pm.fish

Open a new shell afterwards.`,
	ValidArgs:             []string{"bash", "zsh", "fish"},
	Args:                  usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)),
	DisableFlagsInUseLine: true,
	RunE: func(cmd *cobra.Command, args []string) error {
		out := cmd.OutOrStdout()
		switch args[0] {
		case "bash":
			return rootCmd.GenBashCompletionV2(out, true)
		case "zsh":
			return rootCmd.GenZshCompletion(out)
		default:
			return rootCmd.GenFishCompletion(out, true)
		}
	},
}

func init() {
	// This command replaces cobra's default one, which also offers
	// PowerShell.
	rootCmd.CompletionOptions.DisableDefaultCmd = true
	rootCmd.AddCommand(completionCmd)
}
