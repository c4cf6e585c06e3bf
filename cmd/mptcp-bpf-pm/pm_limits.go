package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

var limitsOpts pmOptions

var limitsCmd = &cobra.Command{
	Use:   "limits",
	Short: "Show or set the in-kernel PM's limits (like ip mptcp limits)",
}

var limitsShowCmd = &cobra.Command{
	Use:   "show",
	Short: "Show the limits",
	Args:  cobra.NoArgs,
	RunE:  runLimitsShow,
}

var limitsSetCmd = &cobra.Command{
	Use:   "set [subflows NR] [add_addr_accepted NR]",
	Short: "Set the limits given; the kernel accepts 0 to 8",
	Args:  cobra.MinimumNArgs(2),
	RunE:  runLimitsSet,
}

func init() {
	addPMFlags(limitsShowCmd, &limitsOpts, true)
	addPMFlags(limitsSetCmd, &limitsOpts, false)
	limitsCmd.AddCommand(limitsShowCmd, limitsSetCmd)
	rootCmd.AddCommand(limitsCmd)
}

func runLimitsShow(cmd *cobra.Command, _ []string) error {
	var l pm.Limits
	err := limitsOpts.withClient(func(c *pm.Client) (err error) {
		l, err = c.Limits()
		return err
	})
	if err != nil {
		return err
	}
	if limitsOpts.json {
		return writeJSON(cmd.OutOrStdout(), l)
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "add_addr_accepted %d subflows %d\n",
		l.AddAddrAccepted, l.Subflows)
	return err
}

func runLimitsSet(_ *cobra.Command, args []string) error {
	w := &words{cmd: "limits set", args: args}
	var accepted, subflows *uint32
	for w.more() {
		word := w.next()
		if word != "subflows" && word != "add_addr_accepted" {
			return usageErrorf("limits set: unknown limit %q: want subflows NR or add_addr_accepted NR", word)
		}
		s, err := w.value(word, "number")
		if err != nil {
			return err
		}
		v, err := parseLimit(word, s)
		if err != nil {
			return err
		}
		if word == "subflows" {
			subflows = &v
		} else {
			accepted = &v
		}
	}
	return limitsOpts.withClient(func(c *pm.Client) error {
		return c.SetLimits(accepted, subflows)
	})
}
