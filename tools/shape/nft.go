package shape

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// The nftables tables of this package, one per interface and mechanism,
// in the netdev family, whose chains bind to one device. The netdev
// egress hook needs Linux 5.16 and nftables 1.0.1.
const (
	lossPrefix      = "shape_loss_"
	blackholePrefix = "shape_blackhole_"
)

// discard is the nft statement that drops a packet in the egress hook
// without the local stack noticing. A plain "drop" verdict there makes
// dev_queue_xmit return NET_XMIT_DROP, which TCP takes as local
// congestion (CWR): it keeps the segment queued and sends it later
// without counting a retransmission, unlike on a real lossy link.
// Forwarding the packet to lo makes the hook report success, and lo
// then discards it: unicast frames carry another host's MAC address,
// and lo does no ARP or neighbour discovery. On Linux 6.18, ss -ti
// showed no retransmissions with "drop" under 5% loss or a blackhole,
// and showed them with this statement.
const discard = `fwd to "lo"`

// lossScale is the modulus of the random number: percentages have a
// resolution of 0.01.
const lossScale = 10000

// Loss drops percent (0 to 100, in steps of 0.01) of the packets that
// leave ifname in namespace ns, chosen at random by nftables ("numgen
// random") in a netdev egress chain of a table of its own. Calling Loss
// again replaces the previous share.
//
// NOTE: the egress hook runs before GSO segmentation, so a dropped
// packet can be a GSO aggregate of several TCP segments. Turn off
// segmentation offload on the interface (ethtool -K) for loss per
// wire-size packet. Dropped packets also show in the otherhost counter
// of lo (ip -s -s link show lo).
func Loss(ns, ifname string, percent float64) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if math.IsNaN(percent) || percent < 0 || percent > 100 {
		return fmt.Errorf("invalid loss %v%%: want 0 to 100", percent)
	}
	if err := checkLink(ns, ifname); err != nil {
		return fmt.Errorf("set loss on %s: %w", ifname, err)
	}
	// nft rejects "< 10000" as out of range for "mod 10000", so 100%
	// is a rule without the random match.
	threshold := int(math.Round(percent * lossScale / 100))
	match := fmt.Sprintf("numgen random mod %d < %d ", lossScale,
		threshold)
	if threshold >= lossScale {
		match = ""
	}

	// The first rule counts every packet, the second drops a share.
	chain := fmt.Sprintf("chain egress {\n"+
		"\t\ttype filter hook egress device %q priority 0;\n"+
		"\t\tcounter\n"+
		"\t\t%scounter %s\n\t}", ifname, match, discard)
	if err := replaceTable(ns, lossPrefix+ifname, chain); err != nil {
		return fmt.Errorf("set loss %v%% on %s: %w", percent, ifname, err)
	}
	return nil
}

// ClearLoss removes the table set by [Loss].
func ClearLoss(ns, ifname string) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if err := deleteTable(ns, lossPrefix+ifname); err != nil {
		return fmt.Errorf("clear loss on %s: %w", ifname, err)
	}
	return nil
}

// Blackhole drops every packet that enters or leaves ifname in namespace
// ns, ARP and neighbour discovery included, as if the link were cut but
// still up. Routes and addresses stay, so the kernel keeps using the
// path, and TCP on it retransmits with exponential backoff until its
// timeouts expire. Packets are dropped unseen by the local stack, as on
// a real link (see the discard constant).
func Blackhole(ns, ifname string) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if err := checkLink(ns, ifname); err != nil {
		return fmt.Errorf("blackhole %s: %w", ifname, err)
	}
	var chains []string
	for hook, verdict := range map[string]string{
		"ingress": "drop", "egress": discard,
	} {
		chains = append(chains, fmt.Sprintf("chain %s {\n"+
			"\t\ttype filter hook %s device %q priority 0;\n"+
			"\t\tcounter %s\n\t}", hook, hook, ifname, verdict))
	}
	err := replaceTable(ns, blackholePrefix+ifname,
		strings.Join(chains, "\n\t"))
	if err != nil {
		return fmt.Errorf("blackhole %s: %w", ifname, err)
	}
	return nil
}

// Restore removes the table set by [Blackhole].
func Restore(ns, ifname string) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if err := deleteTable(ns, blackholePrefix+ifname); err != nil {
		return fmt.Errorf("restore %s: %w", ifname, err)
	}
	return nil
}

// replaceTable creates the netdev table with the chains given, deleting
// an older table of the same name in the same transaction, so there is
// no moment without the rules.
func replaceTable(ns, table, chains string) error {
	script := fmt.Sprintf("table netdev %s\n"+
		"delete table netdev %s\n"+
		"table netdev %s {\n\t%s\n}\n", table, table, table, chains)
	_, err := run(ns, script, "nft", "-f", "-")
	return err
}

// deleteTable deletes the netdev table if it exists. The add before the
// delete, in one transaction, makes a missing table no error.
func deleteTable(ns, table string) error {
	script := fmt.Sprintf("table netdev %s\ndelete table netdev %s\n",
		table, table)
	_, err := run(ns, script, "nft", "-f", "-")
	return err
}

// Counter is an nftables counter.
type Counter struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Drops are the counters of the rules on one interface. Counters of a
// mechanism that is not set are zero.
type Drops struct {
	LossSeen     Counter // packets that reached the loss rule
	LossDropped  Counter // packets the loss rule dropped
	BlackholeIn  Counter // dropped on ingress by Blackhole
	BlackholeOut Counter // dropped on egress by Blackhole
}

// ReadDrops returns the counters of the [Loss] and [Blackhole] rules on
// ifname in namespace ns.
func ReadDrops(ns, ifname string) (Drops, error) {
	var d Drops
	if err := checkTarget(ns, ifname); err != nil {
		return d, err
	}
	loss, err := tableCounters(ns, lossPrefix+ifname)
	if err != nil {
		return d, fmt.Errorf("read loss counters on %s: %w", ifname, err)
	}
	bh, err := tableCounters(ns, blackholePrefix+ifname)
	if err != nil {
		return d, fmt.Errorf("read blackhole counters on %s: %w",
			ifname, err)
	}
	if c := loss["egress"]; len(c) == 2 {
		d.LossSeen, d.LossDropped = c[0], c[1]
	}
	if c := bh["ingress"]; len(c) == 1 {
		d.BlackholeIn = c[0]
	}
	if c := bh["egress"]; len(c) == 1 {
		d.BlackholeOut = c[0]
	}
	return d, nil
}

// tableCounters returns, per chain, the counters of its rules in rule
// order, or nil when the table does not exist.
func tableCounters(ns, table string) (map[string][]Counter, error) {
	tables, err := run(ns, "", "nft", "list", "tables", "netdev")
	if err != nil {
		return nil, err
	}
	if !hasLine(tables, "table netdev "+table) {
		return nil, nil
	}
	out, err := run(ns, "", "nft", "-j", "list", "table", "netdev", table)
	if err != nil {
		return nil, err
	}
	return parseCounters(out)
}

func hasLine(out, line string) bool {
	for l := range strings.Lines(out) {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// parseCounters decodes "nft -j list table" output.
func parseCounters(out string) (map[string][]Counter, error) {
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Chain string                       `json:"chain"`
				Expr  []map[string]json.RawMessage `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("decode nft -j output: %w", err)
	}
	counters := map[string][]Counter{}
	for _, obj := range doc.Nftables {
		if obj.Rule == nil {
			continue
		}
		for _, expr := range obj.Rule.Expr {
			raw, ok := expr["counter"]
			if !ok {
				continue
			}
			var c Counter
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, fmt.Errorf("decode nft counter %s: %w",
					raw, err)
			}
			counters[obj.Rule.Chain] = append(
				counters[obj.Rule.Chain], c)
		}
	}
	return counters, nil
}
