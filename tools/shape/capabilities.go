package shape

import (
	"fmt"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// Support is the result of probing one shaping function on this host.
type Support struct {
	Supported bool
	Mechanism string // kernel facility used, such as "tbf"
	// Reason is the probe's error, empty when Supported.
	Reason string
}

// Caps lists which functions of this package work on this host.
type Caps struct {
	Rate      Support // [Rate]: tbf, else htb
	Loss      Support // [Loss]: nftables netdev egress, numgen, fwd
	Blackhole Support // [Blackhole]: nftables netdev ingress, egress
	Delay     Support // [Delay]: netem
}

// Capabilities tries each function on a veth pair in a scratch network
// namespace, which it deletes before it returns. It returns an error
// only when the scratch namespace cannot be set up, for example without
// CAP_NET_ADMIN.
func Capabilities() (Caps, error) {
	ns, err := netlab.NewNS("shape-probe")
	if err != nil {
		return Caps{}, fmt.Errorf("create probe namespace: %w", err)
	}
	defer ns.Delete()
	const ifname = "probe0"
	if err := addVeth(ns, ifname, "probe1"); err != nil {
		return Caps{}, fmt.Errorf("create probe veth: %w", err)
	}

	var caps Caps
	caps.Rate = probeRate(ns.Name, ifname)
	caps.Loss = probe("nftables netdev egress, numgen, fwd",
		Loss(ns.Name, ifname, 1), ClearLoss(ns.Name, ifname))
	caps.Blackhole = probe("nftables netdev ingress and egress, fwd",
		Blackhole(ns.Name, ifname), Restore(ns.Name, ifname))
	caps.Delay = probe("netem", Delay(ns.Name, ifname, time.Millisecond),
		ClearDelay(ns.Name, ifname))
	return caps, nil
}

func probeRate(ns, ifname string) Support {
	bits := uint64(1e6)
	tbf := probe("tbf", rateTBF(ns, ifname, bits), ClearRate(ns, ifname))
	if tbf.Supported {
		return tbf
	}
	htb := probe("htb", rateHTB(ns, ifname, bits), ClearRate(ns, ifname))
	if !htb.Supported {
		htb.Reason = "tbf: " + tbf.Reason + "; htb: " + htb.Reason
	}
	return htb
}

// probe turns the results of a setter and its clear function, called in
// that order, into a Support.
func probe(mechanism string, set, clear error) Support {
	err := set
	if err == nil {
		err = clear
	}
	s := Support{Supported: err == nil, Mechanism: mechanism}
	if err != nil {
		s.Reason = err.Error()
	}
	return s
}

func addVeth(ns *netlab.NS, a, b string) error {
	_, err := ns.Output("ip", "link", "add", a, "type", "veth", "peer",
		"name", b)
	for _, name := range []string{a, b} {
		if err == nil {
			_, err = ns.Output("ip", "link", "set", name, "up")
		}
	}
	return err
}
