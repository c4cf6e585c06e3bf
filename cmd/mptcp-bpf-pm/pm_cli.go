package main

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// pmOptions are the flags shared by the path-manager commands.
type pmOptions struct {
	netns string
	json  bool
}

func addPMFlags(cmd *cobra.Command, o *pmOptions, json bool) {
	f := cmd.Flags()
	f.StringVar(&o.netns, "netns", "", "act on the network namespace at `PATH` (such as /run/netns/NAME) in place of the current one")
	if json {
		f.BoolVar(&o.json, "json", false, "print JSON")
	}
}

// config opens the namespace file, if any, and returns the pm.Config
// and a function that closes the file.
func (o *pmOptions) config() (*pm.Config, func(), error) {
	if o.netns == "" {
		return &pm.Config{}, func() {}, nil
	}
	f, err := os.Open(o.netns)
	if err != nil {
		return nil, nil, usageErrorf("invalid --netns %q: %v", o.netns, err)
	}
	return &pm.Config{NetNS: int(f.Fd())}, func() { f.Close() }, nil
}

// withClient dials a pm.Client in the namespace and calls fn with it.
func (o *pmOptions) withClient(fn func(c *pm.Client) error) error {
	cfg, done, err := o.config()
	if err != nil {
		return err
	}
	defer done()
	c, err := pm.Dial(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(c)
}

// linkHandle returns an rtnetlink handle in the namespace, to translate
// device names and indexes there.
func (o *pmOptions) linkHandle() (*netlink.Handle, error) {
	if o.netns == "" {
		return netlink.NewHandle()
	}
	ns, err := netns.GetFromPath(o.netns)
	if err != nil {
		return nil, usageErrorf("invalid --netns %q: %v", o.netns, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

// ifIndex returns the index of device name in the namespace.
func (o *pmOptions) ifIndex(name string) (int32, error) {
	h, err := o.linkHandle()
	if err != nil {
		return 0, err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return 0, usageErrorf("invalid dev %q: %v: want the name of a network device", name, err)
	}
	return int32(link.Attrs().Index), nil
}

// ifNames maps device indexes of the namespace to names; it is empty
// when the devices cannot be listed.
func (o *pmOptions) ifNames() map[int32]string {
	names := map[int32]string{}
	h, err := o.linkHandle()
	if err != nil {
		return names
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return names
	}
	for _, l := range links {
		names[int32(l.Attrs().Index)] = l.Attrs().Name
	}
	return names
}

// words walks "ip"-style arguments: keywords, some followed by a value.
type words struct {
	cmd  string // for errors, such as "endpoint add"
	args []string
	i    int
}

func (w *words) more() bool { return w.i < len(w.args) }

func (w *words) next() string {
	s := w.args[w.i]
	w.i++
	return s
}

// value returns the argument after keyword, which wants form.
func (w *words) value(keyword, form string) (string, error) {
	if !w.more() {
		return "", usageErrorf("%s: missing %s after %q", w.cmd, form, keyword)
	}
	return w.next(), nil
}

func parseToken(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil || v == 0 {
		return 0, usageErrorf("invalid token %q: want a non-zero 32-bit number, decimal or 0x-prefixed hex (monitor prints tokens in hex: add 0x)", s)
	}
	return uint32(v), nil
}

func parseID(s string) (uint8, error) {
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, usageErrorf("invalid id %q: want a number from 0 to 255", s)
	}
	return uint8(v), nil
}

func parsePort(s string) (uint16, error) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || v == 0 {
		return 0, usageErrorf("invalid port %q: want a number from 1 to 65535", s)
	}
	return uint16(v), nil
}

func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, usageErrorf("invalid address %q: want an IPv4 or IPv6 address such as 10.0.0.1 or fd00::1", s)
	}
	return a, nil
}

func parseLimit(name, s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, usageErrorf("invalid %s %q: want a number (the kernel accepts 0 to 8)", name, s)
	}
	return uint32(v), nil
}

// localJSON is an endpoint or local address in --json output, with the
// keys of "ip -j mptcp endpoint show" plus the flag names as a list.
type localJSON struct {
	Address string   `json:"address"`
	Port    uint16   `json:"port,omitempty"`
	ID      uint8    `json:"id"`
	Flags   []string `json:"flags"`
	Dev     string   `json:"dev,omitempty"`
	IfIndex int32    `json:"ifindex,omitempty"`
}

func toLocalJSON(l pm.Local, names map[int32]string) localJSON {
	flags := l.Flags.Names()
	if flags == nil {
		flags = []string{}
	}
	return localJSON{Address: l.Addr.String(), Port: l.Port, ID: l.ID,
		Flags: flags, Dev: names[l.IfIndex], IfIndex: l.IfIndex}
}

// formatLocal prints l like "ip mptcp endpoint show":
// "10.0.0.1 port 80 id 1 signal backup dev eth0".
func formatLocal(l pm.Local, names map[int32]string) string {
	parts := []string{l.Addr.String()}
	if l.Port != 0 {
		parts = append(parts, "port", strconv.Itoa(int(l.Port)))
	}
	parts = append(parts, "id", strconv.Itoa(int(l.ID)))
	parts = append(parts, l.Flags.Names()...)
	if l.IfIndex != 0 {
		if name, ok := names[l.IfIndex]; ok {
			parts = append(parts, "dev", name)
		} else {
			parts = append(parts, "ifindex", fmt.Sprint(l.IfIndex))
		}
	}
	return strings.Join(parts, " ")
}
