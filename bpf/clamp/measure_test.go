package clamp_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// Environment of TestMeasureCaps, a measurement rather than a check.
const (
	// measureEnv is the number of rounds; each round runs every variant
	// once, in a fixed order, so slow drifts hit all variants alike.
	measureEnv = "MBPT_CLAMP_MEASURE"
	// rateEnv, when set, shapes both client egress links with tbf at this
	// rate (tc syntax, such as 100mbit).
	rateEnv = "MBPT_CLAMP_RATE"
	// capsEnv lists the caps to compare, comma-separated, 0 for no cap;
	// the default is 0,40,400.
	capsEnv = "MBPT_CLAMP_CAPS"
)

// measureWindow is the time over which each run's throughput is taken,
// starting when the cap is set.
const measureWindow = 3 * time.Second

// TestMeasureCaps measures the aggregate throughput of one MPTCP bulk
// connection over two paths while the join subflow has no cap, a cap of
// 40 or a cap of 400 segments. MBPT_CLAMP_CAPS selects other caps. It
// logs every run and the medians.
//
//	MBPT_CLAMP_MEASURE=5 go test -run TestMeasureCaps -v ./bpf/clamp
func TestMeasureCaps(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv(measureEnv))
	if rounds <= 0 {
		t.Skipf("a measurement: set %s to the number of rounds", measureEnv)
	}
	r := newRig(t, false)
	if rate := os.Getenv(rateEnv); rate != "" {
		r.shape(t, rate)
	}
	c := attach(t, r.cgroup)

	variants := parseCaps(t, os.Getenv(capsEnv))
	mbps := make(map[uint32][]float64)
	for round := range rounds {
		for _, limit := range variants {
			res := r.measure(t, c, limit)
			mbps[limit] = append(mbps[limit], res.mbps)
			t.Logf("round %d cap %3d: %7.0f Mbit/s, join share %4.1f%%,"+
				" join cwnd %d", round+1, limit, res.mbps,
				100*res.joinShare, res.joinCwnd)
		}
	}
	for _, limit := range variants {
		t.Logf("cap %3d: median %.0f Mbit/s of %s", limit,
			median(mbps[limit]), format(mbps[limit]))
	}
}

// shape limits both client egress links to rate with tbf.
func (r *rig) shape(t *testing.T, rate string) {
	for _, p := range r.lab.Paths {
		r.lab.Client.Run(t, "tc", "qdisc", "add", "dev", p.ClientIf,
			"root", "tbf", "rate", rate, "burst", "64kb",
			"latency", "20ms")
	}
}

type result struct {
	mbps      float64
	joinShare float64 // the join subflow's share of the bytes acked
	joinCwnd  uint32  // the join subflow's cwnd at the end
}

// measure runs one connection with limit on its join subflow (0 = none).
func (r *rig) measure(t *testing.T, c *clamp.Clamper, limit uint32) result {
	t.Helper()
	r.waitQuiet(t)
	cmd := r.startSender(t, measureWindow+time.Second)
	subs := r.waitSubflows(t, 2)
	join := subs[1].ID.Cookie
	if limit > 0 {
		if err := c.Set(join, limit); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}

	before := r.received.Load()
	acked0 := acked(subs)
	time.Sleep(measureWindow)
	bytes := r.received.Load() - before
	end := r.waitSubflows(t, 2)
	acked1 := acked(end)
	_ = cmd.Wait()

	res := result{mbps: float64(bytes) * 8 / measureWindow.Seconds() / 1e6}
	if total := acked1[0] + acked1[1] - acked0[0] - acked0[1]; total > 0 {
		res.joinShare = float64(acked1[1]-acked0[1]) / float64(total)
	}
	if s := find(end, join); s != nil {
		res.joinCwnd = s.Info.SndCwnd
	}
	return res
}

func acked(subs []diag.TCPSocket) [2]uint64 {
	return [2]uint64{subs[0].Info.BytesAcked, subs[1].Info.BytesAcked}
}

func parseCaps(t *testing.T, s string) []uint32 {
	if s == "" {
		return []uint32{0, 40, 400}
	}
	var caps []uint32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 32)
		if err != nil {
			t.Fatalf("invalid %s %q: %v", capsEnv, s, err)
		}
		caps = append(caps, uint32(n))
	}
	return caps
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func format(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ")
}
