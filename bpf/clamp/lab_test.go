package clamp_test

import (
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
)

// attach attaches a Clamper to dir and closes it at cleanup.
func attach(t *testing.T, dir string) *clamp.Clamper {
	t.Helper()
	c, err := clamp.Attach(dir)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// sample is the cwnd and ssthresh of one subflow at one poll.
type sample struct{ cwnd, ssthresh uint32 }

// poll samples the subflow with cookie every 10 ms until ok returns true
// for a sample or d passes, and returns the last sample and whether ok
// held.
func (r *rig) poll(t *testing.T, cookie uint64, d time.Duration,
	ok func(sample) bool) (sample, bool) {
	t.Helper()
	var last sample
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s := find(r.subflows(t), cookie)
		if s == nil || s.Info == nil {
			t.Fatalf("subflow %d is gone", cookie)
		}
		last = sample{s.Info.SndCwnd, s.Info.SndSsthresh}
		if ok(last) {
			return last, true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last, false
}

// TestLabCap caps the join subflow of a bulk transfer at 10 segments,
// checks inet_diag shows it within a second while the initial subflow
// stays uncapped, then removes the cap and checks that cwnd grows again.
func TestLabCap(t *testing.T) {
	t.Run("IPv4", func(t *testing.T) { testCap(t, false) })
	t.Run("IPv6", func(t *testing.T) { testCap(t, true) })
}

func testCap(t *testing.T, v6 bool) {
	r := newRig(t, v6)
	c := attach(t, r.cgroup)
	r.startSender(t, 8*time.Second)
	subs := r.waitSubflows(t, 2)
	capped, other := subs[1].ID.Cookie, subs[0].ID.Cookie
	const limit = 10

	_, grew := r.poll(t, capped, 2*time.Second,
		func(s sample) bool { return s.cwnd > 2*limit })
	if !grew {
		t.Fatalf("join subflow cwnd stayed at or below %d before the cap",
			2*limit)
	}

	if err := c.Set(capped, limit); err != nil {
		t.Fatalf("Set: %v", err)
	}
	start := time.Now()
	got, ok := r.poll(t, capped, time.Second,
		func(s sample) bool { return s.cwnd <= limit })
	if !ok {
		t.Fatalf("snd_cwnd = %d one second after a cap of %d", got.cwnd, limit)
	}
	t.Logf("cwnd %d <= %d after %v", got.cwnd, limit, time.Since(start))
	if got.ssthresh > limit {
		t.Errorf("ssthresh = %d, want <= %d", got.ssthresh, limit)
	}
	checkHolds(t, r, capped, limit)
	checkUncapped(t, r, c, other, limit)
	checkApplied(t, c, capped, limit)

	if err := c.Clear(capped); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	got, ok = r.poll(t, capped, 2*time.Second,
		func(s sample) bool { return s.cwnd > 2*limit })
	if !ok {
		t.Errorf("snd_cwnd = %d two seconds after the cap was cleared,"+
			" want above %d", got.cwnd, 2*limit)
	}
	checkCounters(t, c)
}

// checkHolds samples the capped subflow for 500 ms.
func checkHolds(t *testing.T, r *rig, cookie uint64, limit uint32) {
	t.Helper()
	got, broke := r.poll(t, cookie, 500*time.Millisecond,
		func(s sample) bool { return s.cwnd > limit })
	if broke {
		t.Errorf("snd_cwnd rose to %d with a cap of %d", got.cwnd, limit)
	}
}

// checkUncapped checks that the other subflow's cwnd goes above the cap
// and that the program never changed its clamp.
func checkUncapped(t *testing.T, r *rig, c *clamp.Clamper, cookie uint64,
	limit uint32) {
	t.Helper()
	got, ok := r.poll(t, cookie, time.Second,
		func(s sample) bool { return s.cwnd > limit })
	if !ok {
		t.Errorf("uncapped subflow snd_cwnd = %d, want above %d",
			got.cwnd, limit)
	}
	applied, err := c.Applied()
	if err != nil {
		t.Fatal(err)
	}
	if v, found := applied[cookie]; found {
		t.Errorf("uncapped subflow has an applied clamp of %d", v)
	}
}

func checkApplied(t *testing.T, c *clamp.Clamper, cookie uint64,
	limit uint32) {
	t.Helper()
	applied, err := c.Applied()
	if err != nil {
		t.Fatal(err)
	}
	if applied[cookie] != limit {
		t.Errorf("Applied()[%d] = %d, want %d", cookie, applied[cookie],
			limit)
	}
}

// checkCounters checks that setsockopt ran a few times, not on every ACK:
// once for the cap and once for the restore, plus retries.
func checkCounters(t *testing.T, c *clamp.Clamper) {
	t.Helper()
	n, err := c.Counters()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counters: %+v", n)
	if n.Errors != 0 {
		t.Errorf("%d bpf_setsockopt calls failed", n.Errors)
	}
	if n.Sets < 2 || n.Sets > 10 {
		t.Errorf("%d bpf_setsockopt calls, want 2 to 10", n.Sets)
	}
	if n.Restores != 1 {
		t.Errorf("%d restores, want 1", n.Restores)
	}
}

// TestLabClose checks that Close gives a capped subflow of a running
// transfer its original clamp back before it detaches the program.
func TestLabClose(t *testing.T) {
	r := newRig(t, false)
	c, err := clamp.Attach(r.cgroup)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	r.startSender(t, 8*time.Second)
	subs := r.waitSubflows(t, 2)
	capped := subs[1].ID.Cookie
	const limit = 10

	if err := c.Set(capped, limit); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if _, ok := r.poll(t, capped, time.Second,
		func(s sample) bool { return s.cwnd <= limit }); !ok {
		t.Fatalf("cap of %d not applied within 1s", limit)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, ok := r.poll(t, capped, 2*time.Second,
		func(s sample) bool { return s.cwnd > 2*limit })
	if !ok {
		t.Errorf("snd_cwnd = %d two seconds after Close, want above %d",
			got.cwnd, 2*limit)
	}
}
