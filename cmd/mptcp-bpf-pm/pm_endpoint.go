package main

import (
	"fmt"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

var endpointOpts pmOptions

var endpointCmd = &cobra.Command{
	Use:   "endpoint",
	Short: "Manage the in-kernel PM's endpoints (like ip mptcp endpoint)",
	Long: `Manage the endpoint table of the in-kernel MPTCP path manager of a network
namespace, with the syntax of "ip mptcp endpoint". Endpoints are used by
connections of the in-kernel path manager only. "endpoint show token T"
lists the local addresses of one userspace path-manager connection.`,
}

var endpointAddCmd = &cobra.Command{
	Use:   "add ADDRESS [dev IFNAME] [id ID] [port NR] [signal|subflow|backup|fullmesh|laminar]...",
	Short: "Add an endpoint",
	Long: `Add an endpoint. id 0 or no id lets the kernel pick one. A port needs the
signal flag alone; the kernel then listens on it.`,
	Args: cobra.MinimumNArgs(1),
	RunE: runEndpointAdd,
}

var endpointDeleteCmd = &cobra.Command{
	Use:   "delete id ID [ADDRESS]",
	Short: "Delete an endpoint; id 0 needs the address",
	Args:  cobra.MinimumNArgs(2),
	RunE:  runEndpointDelete,
}

var endpointChangeCmd = &cobra.Command{
	Use:   "change [id ID] [ADDRESS] [port NR] backup|nobackup|fullmesh|nofullmesh...",
	Short: "Change the backup and fullmesh flags of an endpoint",
	Long: `Change the backup and fullmesh flags of the endpoint with this address
(and port), or else with this id. The kernel sets both flags: one that is
not named is cleared, as with "ip mptcp endpoint change".`,
	Args: cobra.MinimumNArgs(1),
	RunE: runEndpointChange,
}

var endpointShowCmd = &cobra.Command{
	Use:   "show [id ID] [token TOKEN]",
	Short: "Show endpoints, or the local addresses of a userspace PM connection",
	RunE:  runEndpointShow,
}

var endpointFlushCmd = &cobra.Command{
	Use:   "flush",
	Short: "Delete every endpoint",
	Args:  cobra.NoArgs,
	RunE: func(*cobra.Command, []string) error {
		return endpointOpts.withClient(func(c *pm.Client) error {
			return c.FlushEndpoints()
		})
	},
}

func init() {
	for _, c := range []*cobra.Command{endpointAddCmd, endpointDeleteCmd,
		endpointChangeCmd, endpointShowCmd, endpointFlushCmd} {
		addPMFlags(c, &endpointOpts, c == endpointShowCmd)
		endpointCmd.AddCommand(c)
	}
	rootCmd.AddCommand(endpointCmd)
}

const addWords = "ADDRESS, dev IFNAME, id ID, port NR, signal, subflow, backup, fullmesh or laminar"

func runEndpointAdd(_ *cobra.Command, args []string) error {
	w := &words{cmd: "endpoint add", args: args}
	var ep pm.Local
	for w.more() {
		word := w.next()
		if err := endpointWord(w, word, &ep, true); err != nil {
			return err
		}
	}
	if !ep.Addr.IsValid() {
		return usageErrorf("endpoint add: missing ADDRESS")
	}
	return endpointOpts.withClient(func(c *pm.Client) error {
		return c.AddEndpoint(ep)
	})
}

// endpointWord applies one word of "endpoint add" or "endpoint change".
func endpointWord(w *words, word string, ep *pm.Local, add bool) error {
	var err error
	var v string
	switch word {
	case "id":
		if v, err = w.value(word, "ID"); err == nil {
			ep.ID, err = parseID(v)
		}
	case "port":
		if v, err = w.value(word, "port number"); err == nil {
			ep.Port, err = parsePort(v)
		}
	case "dev":
		if !add {
			return usageErrorf("%s: dev is not supported here", w.cmd)
		}
		if v, err = w.value(word, "device name"); err == nil {
			ep.IfIndex, err = endpointOpts.ifIndex(v)
		}
	default:
		return endpointFlagWord(w, word, ep, add)
	}
	return err
}

func endpointFlagWord(w *words, word string, ep *pm.Local, add bool) error {
	if f, ok := pm.ParseAddrFlag(word); ok && f != pm.FlagImplicit {
		if !add && f != pm.FlagBackup && f != pm.FlagFullmesh {
			return usageErrorf("%s: invalid flag %q: only backup, nobackup, fullmesh and nofullmesh can change", w.cmd, word)
		}
		ep.Flags |= f
		return nil
	}
	if !add && (word == "nobackup" || word == "nofullmesh") {
		return nil
	}
	a, err := netip.ParseAddr(word)
	if err != nil {
		want := addWords
		if !add {
			want = "id ID, ADDRESS, port NR, backup, nobackup, fullmesh or nofullmesh"
		}
		return usageErrorf("%s: unknown argument %q: want %s", w.cmd, word, want)
	}
	if _, err := parseAddr(word); err != nil {
		return err
	}
	ep.Addr = a
	return nil
}

func runEndpointDelete(_ *cobra.Command, args []string) error {
	w := &words{cmd: "endpoint delete", args: args}
	var id uint8
	var addr netip.Addr
	idSet := false
	for w.more() {
		word := w.next()
		if word != "id" {
			a, err := netip.ParseAddr(word)
			if err != nil {
				return usageErrorf("endpoint delete: unknown argument %q: want id ID or ADDRESS", word)
			}
			addr = a
			continue
		}
		v, err := w.value(word, "ID")
		if err != nil {
			return err
		}
		if id, err = parseID(v); err != nil {
			return err
		}
		idSet = true
	}
	if !idSet {
		return usageErrorf("endpoint delete: missing id ID")
	}
	if id == 0 && !addr.IsValid() {
		return usageErrorf("endpoint delete: id 0 needs the ADDRESS")
	}
	return endpointOpts.withClient(func(c *pm.Client) error {
		return c.DeleteEndpoint(id, addr)
	})
}

func runEndpointChange(_ *cobra.Command, args []string) error {
	w := &words{cmd: "endpoint change", args: args}
	var ep pm.Local
	changes := 0
	for w.more() {
		word := w.next()
		switch word {
		case "backup", "nobackup", "fullmesh", "nofullmesh":
			changes++
		}
		if err := endpointWord(w, word, &ep, false); err != nil {
			return err
		}
	}
	if changes == 0 {
		return usageErrorf("endpoint change: missing backup, nobackup, fullmesh or nofullmesh")
	}
	if ep.ID == 0 && !ep.Addr.IsValid() {
		return usageErrorf("endpoint change: missing id ID or ADDRESS")
	}
	return endpointOpts.withClient(func(c *pm.Client) error {
		return c.SetEndpointFlags(ep)
	})
}

func runEndpointShow(cmd *cobra.Command, args []string) error {
	w := &words{cmd: "endpoint show", args: args}
	var id *uint8
	var token *uint32
	for w.more() {
		word := w.next()
		v, err := w.value(word, "a value")
		if err != nil {
			return err
		}
		switch word {
		case "id":
			n, err := parseID(v)
			if err != nil {
				return err
			}
			id = &n
		case "token":
			t, err := parseToken(v)
			if err != nil {
				return err
			}
			token = &t
		default:
			return usageErrorf("endpoint show: unknown argument %q: want id ID or token TOKEN", word)
		}
	}

	var locals []pm.Local
	err := endpointOpts.withClient(func(c *pm.Client) (err error) {
		locals, err = showLocals(c, id, token)
		return err
	})
	if err != nil {
		return err
	}
	return printLocals(cmd, locals)
}

func showLocals(c *pm.Client, id *uint8, token *uint32) ([]pm.Local, error) {
	switch {
	case id != nil && token != nil:
		l, err := c.LocalAddr(*token, *id)
		return []pm.Local{l}, err
	case id != nil:
		l, err := c.Endpoint(*id)
		return []pm.Local{l}, err
	case token != nil:
		return c.LocalAddrs(*token)
	}
	return c.Endpoints()
}

func printLocals(cmd *cobra.Command, locals []pm.Local) error {
	names := endpointOpts.ifNames()
	out := cmd.OutOrStdout()
	if endpointOpts.json {
		list := make([]localJSON, 0, len(locals))
		for _, l := range locals {
			list = append(list, toLocalJSON(l, names))
		}
		return writeJSON(out, list)
	}
	for _, l := range locals {
		if _, err := fmt.Fprintln(out, formatLocal(l, names)); err != nil {
			return err
		}
	}
	return nil
}
