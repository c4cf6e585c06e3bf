package main

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/top"
)

var ctlFlags struct {
	socket string
	json   bool
	backup bool
}

var ctlCmd = &cobra.Command{
	Use:   "ctl",
	Short: "Query and change the running daemon through its control socket",
	Long: `Query and change a running "mptcp-bpf-pm run" through its control socket
(a unix socket, mode 0600: only root and the daemon's own user may use it).
Changes last until the daemon stops; put them in the config file to keep
them.`,
}

var ctlStatusCmd = &cobra.Command{
	Use:   "status",
	Short: "Show the daemon's version, mode, policy, addresses and options",
	Args:  usageArgs(cobra.NoArgs),
	RunE: func(cmd *cobra.Command, _ []string) error {
		c, err := ctlDial()
		if err != nil {
			return err
		}
		st, err := c.Status()
		if err != nil {
			return err
		}
		if ctlFlags.json {
			return writeJSON(cmd.OutOrStdout(), st)
		}
		return writeCtlStatus(cmd.OutOrStdout(), st)
	},
}

var ctlConnectionsCmd = &cobra.Command{
	Use:     "connections",
	Aliases: []string{"conns", "ls"},
	Short:   "List the connections the daemon tracks, with their subflows",
	Args:    usageArgs(cobra.NoArgs),
	RunE: func(cmd *cobra.Command, _ []string) error {
		c, err := ctlDial()
		if err != nil {
			return err
		}
		conns, err := c.Connections()
		if err != nil {
			return err
		}
		if ctlFlags.json {
			return writeJSON(cmd.OutOrStdout(), conns)
		}
		return writeCtlConnections(cmd.OutOrStdout(), conns)
	},
}

var ctlAddAddressCmd = &cobra.Command{
	Use:   "add-address ADDRESS",
	Short: "Open subflows from a local address of an interface",
	Args:  usageArgs(cobra.ExactArgs(1)),
	RunE: func(_ *cobra.Command, args []string) error {
		return ctlAddress(args[0], (*control.Client).AddAddress)
	},
}

var ctlRemoveAddressCmd = &cobra.Command{
	Use:   "remove-address ADDRESS",
	Short: "Stop using a local address and close the subflows that use it",
	Args:  usageArgs(cobra.ExactArgs(1)),
	RunE: func(_ *cobra.Command, args []string) error {
		return ctlAddress(args[0], (*control.Client).RemoveAddress)
	},
}

var ctlSetCmd = &cobra.Command{
	Use:   "set KEY VALUE",
	Short: "Change a run-time option, named like a flag of run",
	Args:  usageArgs(cobra.ExactArgs(2)),
	RunE: func(_ *cobra.Command, args []string) error {
		c, err := ctlDial()
		if err != nil {
			return err
		}
		return c.SetOption(args[0], args[1])
	},
}

var ctlSubflowCmd = &cobra.Command{
	Use:   "subflow TOKEN LOCAL REMOTE:PORT",
	Short: "Ask for one subflow of a connection from a local address",
	Long: `Ask the daemon to open one subflow of the connection with the given
token (decimal or 0x-prefixed hex, as "ctl connections" shows it) from the
local address to the remote address and port.`,
	Args: usageArgs(cobra.ExactArgs(3)),
	RunE: runCtlSubflow,
}

func init() {
	ctlCmd.PersistentFlags().StringVar(&ctlFlags.socket, "socket", "", "control socket `PATH` (default: the one of this network namespace's daemon)")
	for _, c := range []*cobra.Command{ctlStatusCmd, ctlConnectionsCmd} {
		c.Flags().BoolVar(&ctlFlags.json, "json", false, "print JSON")
	}
	ctlSubflowCmd.Flags().BoolVar(&ctlFlags.backup, "backup", false, "open the subflow with the backup flag")
	ctlCmd.AddCommand(ctlStatusCmd, ctlConnectionsCmd, ctlAddAddressCmd,
		ctlRemoveAddressCmd, ctlSetCmd, ctlSubflowCmd)
	rootCmd.AddCommand(ctlCmd)
}

func ctlDial() (*control.Client, error) {
	socket := ctlFlags.socket
	if socket == "" {
		socket = defaultControlSocket()
	}
	c, err := control.Dial(socket)
	if err != nil && noDaemon(err) {
		return nil, fmt.Errorf("no daemon listens at %s: %w (start \"mptcp-bpf-pm run\", or pass its --socket)", socket, err)
	}
	return c, err
}

func ctlAddress(arg string, op func(*control.Client, netip.Addr) error) error {
	a, err := netip.ParseAddr(arg)
	if err != nil {
		return usageErrorf("invalid address %q: want an IPv4 or IPv6 address such as 10.0.0.1", arg)
	}
	c, err := ctlDial()
	if err != nil {
		return err
	}
	return op(c, a)
}

func runCtlSubflow(_ *cobra.Command, args []string) error {
	token, err := strconv.ParseUint(args[0], 0, 32)
	if err != nil || token == 0 {
		return usageErrorf("invalid token %q: want a non-zero 32-bit number, decimal or 0x-prefixed hex", args[0])
	}
	local, err := netip.ParseAddr(args[1])
	if err != nil {
		return usageErrorf("invalid local address %q: want an address such as 10.0.0.1", args[1])
	}
	remote, err := netip.ParseAddrPort(args[2])
	if err != nil {
		return usageErrorf("invalid remote %q: want address:port such as 10.0.0.2:80 or [fd00::2]:80", args[2])
	}
	c, err := ctlDial()
	if err != nil {
		return err
	}
	return c.CreateSubflow(control.SubflowRequest{Token: uint32(token), Local: local, Remote: remote, Backup: ctlFlags.backup})
}

func writeCtlStatus(w io.Writer, st control.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	addrs := make([]string, len(st.Addresses))
	for i, a := range st.Addresses {
		addrs[i] = a.String()
	}
	fmt.Fprintf(tw, "pid\t%d\n", st.PID)
	fmt.Fprintf(tw, "version\t%s\n", st.Version)
	fmt.Fprintf(tw, "started\t%s\n", st.StartTime.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(tw, "mode\t%s\n", st.Mode)
	fmt.Fprintf(tw, "policy\t%s\n", st.Policy)
	fmt.Fprintf(tw, "bpf\t%v\n", st.BPF)
	fmt.Fprintf(tw, "addresses\t%s\n", strings.Join(addrs, " "))
	keys := make([]string, 0, len(st.Options))
	for k := range st.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(tw, "option %s\t%s\n", k, st.Options[k])
	}
	return tw.Flush()
}

// writeCtlConnections prints each connection on one line and its subflows
// as an aligned table below it, within 80 columns for IPv4.
func writeCtlConnections(w io.Writer, conns []control.Connection) error {
	if len(conns) == 0 {
		_, err := fmt.Fprintln(w, "no connections")
		return err
	}
	for i, c := range conns {
		if i > 0 {
			fmt.Fprintln(w)
		}
		side, state := "client", "established"
		if c.ServerSide {
			side = "server"
		}
		if !c.Established {
			state = "connecting"
		}
		fmt.Fprintf(w, "%08x  %s -> %s  %s  %s  %d subflows\n", c.Token, c.Local, c.Remote, side, state, len(c.Subflows))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  IDS\tBK\tSTATE\tLOCAL\tREMOTE\tRTT ms\tCWND\tACKED\tRETR\t")
		for _, sf := range c.Subflows {
			bk := "-"
			if sf.Backup {
				bk = "B"
			}
			fmt.Fprintf(tw, "  %d/%d\t%s\t%s\t%s\t%s\t%.2f\t%d\t%s\t%d\t\n", sf.LocalID, sf.RemoteID, bk,
				top.StateName(sf.State), sf.Local, sf.Remote, float64(sf.SRTTUs)/1000, sf.SndCwnd,
				statusBytes(sf.BytesAcked), sf.TotalRetrans)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
