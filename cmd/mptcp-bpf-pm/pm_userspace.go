package main

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// userspaceArgs are the words of the userspace path-manager commands.
type userspaceArgs struct {
	local    pm.Local
	remote   netip.Addr
	rport    uint16
	token    uint32
	set      map[string]bool // keywords given, such as "id" or "token"
	backup   bool            // backup or nobackup given last
	allowed  []string        // keywords this command takes
	required []string        // keywords this command needs
}

// parseUserspace parses args for command cmd. "local" stands for the
// bare local ADDRESS among allowed and required.
func parseUserspace(cmd string, args []string, allowed,
	required []string) (*userspaceArgs, error) {
	u := &userspaceArgs{set: map[string]bool{}, allowed: allowed,
		required: required}
	w := &words{cmd: cmd, args: args}
	for w.more() {
		if err := u.word(w, w.next()); err != nil {
			return nil, err
		}
	}
	for _, k := range required {
		if !u.set[k] {
			return nil, usageErrorf("%s: missing %s", cmd, keywordForm(k))
		}
	}
	return u, nil
}

var keywordForms = map[string]string{
	"local": "ADDRESS", "id": "id ID", "port": "port NR",
	"dev": "dev IFNAME", "remote": "remote ADDRESS", "rport": "rport NR",
	"token": "token TOKEN", "backup": "backup", "nobackup": "nobackup",
}

func keywordForm(k string) string { return keywordForms[k] }

func (u *userspaceArgs) word(w *words, word string) error {
	key := word
	if _, err := netip.ParseAddr(word); err == nil {
		key = "local"
	}
	if !slices.Contains(u.allowed, key) {
		forms := make([]string, len(u.allowed))
		for i, k := range u.allowed {
			forms[i] = keywordForm(k)
		}
		return usageErrorf("%s: unknown argument %q: want %s", w.cmd, word,
			strings.Join(forms, ", "))
	}
	u.set[key] = true

	switch key {
	case "local":
		a, err := parseAddr(word)
		u.local.Addr = a
		return err
	case "backup", "nobackup":
		u.backup = key == "backup"
		return nil
	}
	v, err := w.value(word, strings.TrimPrefix(keywordForm(key), word+" "))
	if err != nil {
		return err
	}
	return u.value(key, v)
}

func (u *userspaceArgs) value(key, v string) error {
	var err error
	switch key {
	case "id":
		u.local.ID, err = parseID(v)
	case "port":
		u.local.Port, err = parsePort(v)
	case "dev":
		u.local.IfIndex, err = userspaceOpts.ifIndex(v)
	case "remote":
		u.remote, err = parseAddr(v)
	case "rport":
		u.rport, err = parsePort(v)
	case "token":
		u.token, err = parseToken(v)
	}
	return err
}

func (u *userspaceArgs) remoteAddrPort() netip.AddrPort {
	return netip.AddrPortFrom(u.remote, u.rport)
}

var userspaceOpts pmOptions

var subflowCmd = &cobra.Command{
	Use:   "subflow",
	Short: "Create or destroy subflows of a userspace path-manager connection",
}

var subflowCreateCmd = &cobra.Command{
	Use:   "create ADDRESS [port NR] id ID [dev IFNAME] [backup] remote ADDRESS rport NR token TOKEN",
	Short: "Open a subflow from a local address to a remote address",
	Long: `Open a subflow of the userspace path-manager connection TOKEN from the
local ADDRESS (bound to port NR and device IFNAME when given) to the remote
ADDRESS and port. id is the local address id sent in MP_JOIN; an address
already announced or used must keep its id. The command returns when the
SYN is sent; "monitor" shows the SF_ESTABLISHED or SF_CLOSED event.`,
	Args: cobra.MinimumNArgs(1),
	RunE: runSubflowCreate,
}

var subflowDestroyCmd = &cobra.Command{
	Use:   "destroy ADDRESS port NR remote ADDRESS rport NR token TOKEN",
	Short: "Close the subflow with this 4-tuple",
	Long: `Close the subflow of the userspace path-manager connection TOKEN with
exactly this 4-tuple, as the SF_ESTABLISHED event shows it. A subflow of a
dual-stack socket has IPv4-mapped addresses (::ffff:10.0.0.1) and must be
given with them.`,
	Args: cobra.MinimumNArgs(1),
	RunE: runSubflowDestroy,
}

var announceCmd = &cobra.Command{
	Use:   "announce ADDRESS id ID [port NR] [dev IFNAME] token TOKEN",
	Short: "Announce a local address to the peer (ADD_ADDR)",
	Long: `Announce ADDRESS with id ID (1 to 255) on the userspace path-manager
connection TOKEN. The kernel does not listen on an announced port: run an
MPTCP listener there.`,
	Args: cobra.MinimumNArgs(1),
	RunE: runAnnounce,
}

var removeCmd = &cobra.Command{
	Use:   "remove id ID token TOKEN",
	Short: "Withdraw an announced address id from the peer (RM_ADDR)",
	Args:  cobra.MinimumNArgs(1),
	RunE:  runRemove,
}

var setFlagsCmd = &cobra.Command{
	Use:   "set-flags ADDRESS [port NR] remote ADDRESS [rport NR] token TOKEN backup|nobackup",
	Short: "Set or clear the backup priority of subflows (MP_PRIO)",
	Long: `Send MP_PRIO backup or non-backup on every subflow of the userspace
path-manager connection TOKEN between the local and the remote address
(and ports, when given).`,
	Args: cobra.MinimumNArgs(1),
	RunE: runSetFlags,
}

func init() {
	for _, c := range []*cobra.Command{subflowCreateCmd, subflowDestroyCmd,
		announceCmd, removeCmd, setFlagsCmd} {
		addPMFlags(c, &userspaceOpts, false)
	}
	subflowCmd.AddCommand(subflowCreateCmd, subflowDestroyCmd)
	rootCmd.AddCommand(subflowCmd, announceCmd, removeCmd, setFlagsCmd)
}

func runSubflowCreate(_ *cobra.Command, args []string) error {
	u, err := parseUserspace("subflow create", args,
		[]string{"local", "port", "id", "dev", "backup", "remote", "rport", "token"},
		[]string{"local", "id", "remote", "rport", "token"})
	if err != nil {
		return err
	}
	if u.backup {
		u.local.Flags |= pm.FlagBackup
	}
	return userspaceOpts.withClient(func(c *pm.Client) error {
		return c.SubflowCreate(u.token, u.local, u.remoteAddrPort())
	})
}

func runSubflowDestroy(_ *cobra.Command, args []string) error {
	u, err := parseUserspace("subflow destroy", args,
		[]string{"local", "port", "remote", "rport", "token"},
		[]string{"local", "port", "remote", "rport", "token"})
	if err != nil {
		return err
	}
	local := netip.AddrPortFrom(u.local.Addr, u.local.Port)
	return userspaceOpts.withClient(func(c *pm.Client) error {
		return c.SubflowDestroy(u.token, local, u.remoteAddrPort())
	})
}

func runAnnounce(_ *cobra.Command, args []string) error {
	u, err := parseUserspace("announce", args,
		[]string{"local", "id", "port", "dev", "token"},
		[]string{"local", "id", "token"})
	if err != nil {
		return err
	}
	return userspaceOpts.withClient(func(c *pm.Client) error {
		return c.Announce(u.token, u.local)
	})
}

func runRemove(_ *cobra.Command, args []string) error {
	u, err := parseUserspace("remove", args, []string{"id", "token"},
		[]string{"id", "token"})
	if err != nil {
		return err
	}
	return userspaceOpts.withClient(func(c *pm.Client) error {
		return c.Remove(u.token, u.local.ID)
	})
}

func runSetFlags(_ *cobra.Command, args []string) error {
	u, err := parseUserspace("set-flags", args,
		[]string{"local", "port", "remote", "rport", "token", "backup", "nobackup"},
		[]string{"local", "remote", "token"})
	if err != nil {
		return err
	}
	if !u.set["backup"] && !u.set["nobackup"] {
		return usageErrorf("set-flags: missing backup or nobackup")
	}
	if u.backup {
		u.local.Flags = pm.FlagBackup
	}
	return userspaceOpts.withClient(func(c *pm.Client) error {
		return c.SetFlags(u.token, u.local, u.remoteAddrPort())
	})
}
