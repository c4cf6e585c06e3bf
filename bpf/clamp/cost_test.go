package clamp_test

import (
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
)

// costEnv turns on TestMeasureCost, a measurement rather than a check.
const costEnv = "MBPT_CLAMP_COST"

// TestMeasureCost logs how often the sock_ops program runs during a bulk
// transfer and its mean run time, from the kernel's BPF run-time
// statistics, without a cap and with a cap of 40 on the join subflow.
//
//	MBPT_CLAMP_COST=1 go test -run TestMeasureCost -v ./bpf/clamp
func TestMeasureCost(t *testing.T) {
	if os.Getenv(costEnv) == "" {
		t.Skipf("a measurement: set %s=1", costEnv)
	}
	r := newRig(t, false)
	c := attach(t, r.cgroup)
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		t.Fatalf("enable BPF statistics: %v", err)
	}
	defer stats.Close()

	for _, limit := range []uint32{0, 40, 0, 40} {
		runs, runtime := r.cost(t, c, limit)
		t.Logf("cap %2d: %d runs in %v (%.0f/s), %.0f ns per run,"+
			" %.1f Gbit/s", limit, runs.n, measureWindow,
			float64(runs.n)/measureWindow.Seconds(),
			float64(runtime)/float64(max(runs.n, 1)), runs.gbps)
	}
}

type costRuns struct {
	n    uint64
	gbps float64
}

// cost runs one transfer and returns the program's runs and run time
// over the measurement window.
func (r *rig) cost(t *testing.T, c *clamp.Clamper,
	limit uint32) (costRuns, time.Duration) {
	t.Helper()
	r.waitQuiet(t)
	cmd := r.startSender(t, measureWindow+time.Second)
	subs := r.waitSubflows(t, 2)
	if limit > 0 {
		if err := c.Set(subs[1].ID.Cookie, limit); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}

	n0, rt0 := progStats(t, c)
	bytes0 := r.received.Load()
	time.Sleep(measureWindow)
	n1, rt1 := progStats(t, c)
	bytes := r.received.Load() - bytes0
	_ = cmd.Wait()

	gbps := float64(bytes) * 8 / measureWindow.Seconds() / 1e9
	return costRuns{n: n1 - n0, gbps: gbps}, rt1 - rt0
}

func progStats(t *testing.T, c *clamp.Clamper) (uint64, time.Duration) {
	t.Helper()
	st, err := clamp.Program(c).Stats()
	if err != nil {
		t.Fatalf("program statistics: %v", err)
	}
	return st.RunCount, st.Runtime
}
