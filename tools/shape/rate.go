package shape

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// rateHandle is the root qdisc handle that marks a qdisc set by [Rate].
// ClearRate removes the root qdisc only when it has this handle.
const rateHandle = "5a:"

// Token bucket settings. The bucket holds 10 ms worth of data at the
// configured rate, at least minBurst bytes so that a full-size frame
// always fits, and the queue holds queueLatency worth of data before tbf
// drops.
const (
	burstTime    = 10 * time.Millisecond
	minBurst     = 4096 // bytes
	queueLatency = 50 * time.Millisecond
)

// unknownQdisc is the tc error text for a qdisc kind the kernel lacks.
const unknownQdisc = "Specified qdisc kind is unknown"

// Rate limits the packets leaving ifname in namespace ns to rate, in tc
// notation: a number followed by bit, kbit, mbit, gbit or tbit (bits per
// second, powers of 1000), or by bps, kbps, mbps, gbps or tbps (bytes per
// second), such as "100mbit". It replaces the interface's root qdisc with
// a tbf qdisc, or with an htb qdisc when the kernel has no tbf. Calling
// Rate again changes the rate.
//
// Large GSO packets are split by tbf, and the rate counts link-layer
// bytes, so TCP goodput is a few percent below rate. The queue is on
// the sending host, so TCP treats a full queue as local congestion (CWR)
// and not as loss.
func Rate(ns, ifname, rate string) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	bits, err := ParseRate(rate)
	if err != nil {
		return err
	}
	err = rateTBF(ns, ifname, bits)
	if stderrContains(err, unknownQdisc) {
		err = rateHTB(ns, ifname, bits)
	}
	if err != nil {
		return fmt.Errorf("set rate %s on %s: %w", rate, ifname, err)
	}
	return nil
}

func rateTBF(ns, ifname string, bits uint64) error {
	_, err := run(ns, "", "tc", "qdisc", "replace", "dev", ifname,
		"root", "handle", rateHandle, "tbf",
		"rate", bitArg(bits),
		"burst", strconv.FormatUint(burstBytes(bits), 10),
		"latency", fmt.Sprintf("%dms", queueLatency.Milliseconds()))
	return err
}

// rateHTB sets an htb root qdisc whose default class 1 has the rate as
// its guaranteed and its maximum rate.
func rateHTB(ns, ifname string, bits uint64) error {
	_, err := run(ns, "", "tc", "qdisc", "replace", "dev", ifname,
		"root", "handle", rateHandle, "htb", "default", "1")
	if err != nil {
		return err
	}
	burst := strconv.FormatUint(burstBytes(bits), 10)
	_, err = run(ns, "", "tc", "class", "replace", "dev", ifname,
		"parent", rateHandle, "classid", rateHandle+"1", "htb",
		"rate", bitArg(bits), "ceil", bitArg(bits),
		"burst", burst, "cburst", burst)
	return err
}

func bitArg(bits uint64) string { return strconv.FormatUint(bits, 10) + "bit" }

func burstBytes(bits uint64) uint64 {
	b := uint64(float64(bits) / 8 * burstTime.Seconds())
	return max(b, minBurst)
}

// ClearRate removes the root qdisc set by [Rate], so that the interface
// gets its default qdisc back. It leaves any other root qdisc alone.
func ClearRate(ns, ifname string) error {
	if err := checkTarget(ns, ifname); err != nil {
		return err
	}
	if err := clearRoot(ns, ifname, rateHandle); err != nil {
		return fmt.Errorf("clear rate on %s: %w", ifname, err)
	}
	return nil
}

// clearRoot deletes the root qdisc when its handle is handle.
func clearRoot(ns, ifname, handle string) error {
	kind, err := rootQdisc(ns, ifname, handle)
	if err != nil || kind == "" {
		return err
	}
	_, err = run(ns, "", "tc", "qdisc", "del", "dev", ifname, "root")
	return err
}

// rootQdisc returns the kind of the root qdisc of ifname if its handle
// is handle, or "" otherwise.
func rootQdisc(ns, ifname, handle string) (string, error) {
	out, err := run(ns, "", "tc", "-j", "qdisc", "show", "dev", ifname,
		"root")
	if err != nil {
		return "", err
	}
	var qdiscs []struct {
		Kind   string `json:"kind"`
		Handle string `json:"handle"`
		Root   bool   `json:"root"`
	}
	if err := json.Unmarshal([]byte(out), &qdiscs); err != nil {
		return "", fmt.Errorf("decode tc -j qdisc show: %w", err)
	}
	for _, q := range qdiscs {
		if q.Root && q.Handle == handle {
			return q.Kind, nil
		}
	}
	return "", nil
}

var prefixes = map[string]float64{"": 1, "k": 1e3, "m": 1e6, "g": 1e9,
	"t": 1e12}

var rateSyntax = regexp.MustCompile(
	`^([0-9]+(?:\.[0-9]+)?)([kmgt]?)(bit|bps)$`)

// ParseRate converts a rate in tc notation (see [Rate]) to bits per
// second. Prefixes are powers of 1000, as in tc, and "bps" means bytes per
// second.
func ParseRate(rate string) (uint64, error) {
	m := rateSyntax.FindStringSubmatch(strings.ToLower(rate))
	if m == nil {
		return 0, fmt.Errorf("invalid rate %q: use a number and a "+
			"unit such as 100mbit, 512kbit or 1gbit", rate)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("invalid rate %q: %w", rate, err)
	}
	v *= prefixes[m[2]]
	if m[3] == "bps" {
		v *= 8
	}
	if v < 8 || v > 1e15 {
		return 0, fmt.Errorf("rate %q out of range 8bit..1000tbit", rate)
	}
	return uint64(math.Round(v)), nil
}
