package clamp_test

import (
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/clamp"
)

// sync runs c.Sync in the client namespace, where the subflows are.
func (r *rig) sync(t *testing.T, c *clamp.Clamper) {
	t.Helper()
	if err := r.lab.Client.Do(c.Sync); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// TestLabSyncExisting caps a subflow established before Attach: the ACKs
// alone do not apply the cap, Sync does.
func TestLabSyncExisting(t *testing.T) {
	r := newRig(t, false)
	r.startSender(t, 8*time.Second)
	subs := r.waitSubflows(t, 2)
	capped := subs[1].ID.Cookie
	const limit = 10
	c := attach(t, r.cgroup)

	if err := c.Set(capped, limit); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, ok := r.poll(t, capped, 300*time.Millisecond,
		func(s sample) bool { return s.cwnd <= limit })
	if ok {
		t.Fatalf("snd_cwnd = %d before Sync on a subflow established"+
			" before Attach; the test premise does not hold", got.cwnd)
	}

	r.sync(t, c)
	got, ok = r.poll(t, capped, time.Second,
		func(s sample) bool { return s.cwnd <= limit })
	if !ok {
		t.Fatalf("snd_cwnd = %d one second after Sync with a cap of %d",
			got.cwnd, limit)
	}
	checkHolds(t, r, capped, limit)

	if err := c.Clear(capped); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	got, ok = r.poll(t, capped, 2*time.Second,
		func(s sample) bool { return s.cwnd > 2*limit })
	if !ok {
		t.Errorf("snd_cwnd = %d two seconds after Clear, want above %d",
			got.cwnd, 2*limit)
	}
}

// TestLabSyncIdle caps an idle subflow. No ACK arrives, so only Sync can
// apply the cap; inet_diag shows it as the forced ssthresh.
func TestLabSyncIdle(t *testing.T) {
	r := newRig(t, false)
	c := attach(t, r.cgroup)
	r.startSenderIdle(t, time.Second, 8*time.Second)
	subs := r.waitSubflows(t, 2)
	capped := subs[1].ID.Cookie
	const limit = 7
	r.waitQuiet(t)

	if err := c.Set(capped, limit); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, ok := r.poll(t, capped, 300*time.Millisecond,
		func(s sample) bool { return s.ssthresh == limit })
	if ok {
		t.Fatalf("ssthresh = %d before Sync on an idle subflow; the test"+
			" premise does not hold", got.ssthresh)
	}

	r.sync(t, c)
	s := find(r.subflows(t), capped)
	if s == nil {
		t.Fatal("capped subflow is gone")
	}
	if s.Info.SndSsthresh != limit {
		t.Errorf("ssthresh = %d right after Sync, want %d",
			s.Info.SndSsthresh, limit)
	}
	checkApplied(t, c, capped, limit)

	if err := c.Clear(capped); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	r.sync(t, c)
	applied, err := c.Applied()
	if err != nil {
		t.Fatal(err)
	}
	if v, found := applied[capped]; found {
		t.Errorf("clamp %d still applied after Clear and Sync", v)
	}
	s = find(r.subflows(t), capped)
	if s.Info.SndSsthresh == limit {
		t.Errorf("ssthresh = %d after Clear and Sync, want the default",
			s.Info.SndSsthresh)
	}
}
