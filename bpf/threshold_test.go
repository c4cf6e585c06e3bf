package bpf

import (
	"net"
	"testing"
	"time"
)

// sendFor writes to c for d.
func sendFor(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	buf := make([]byte, 64<<10)
	for end := time.Now().Add(d); time.Now().Before(end); {
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// countReasons returns how many records have each reason bit.
func countReasons(records []Record) map[Reason]int {
	n := map[Reason]int{}
	for _, r := range records {
		for bit := ReasonNew; bit <= ReasonHeartbeat; bit <<= 1 {
			if r.Reason&bit != 0 {
				n[bit]++
			}
		}
	}
	return n
}

// quiet sends records only for events and heartbeats.
var quiet = Options{
	RTTChange: 1000, RTTFloor: time.Hour,
	CwndDecrease: 1, CwndIncrease: 1000,
}

func TestHeartbeatOption(t *testing.T) {
	lab := newKernelLab(t)
	fastOpts, slowOpts := quiet, quiet
	fastOpts.NetNSInode = nsInode(t, lab.Client)
	slowOpts.NetNSInode = fastOpts.NetNSInode
	fastOpts.Heartbeat = 50 * time.Millisecond
	slowOpts.Heartbeat = time.Hour
	fast := collect(t, loadTracer(t, fastOpts))
	slow := collect(t, loadTracer(t, slowOpts))

	c := dial(t, lab, listen(t, lab, 5209))
	sendFor(t, c, time.Second)
	c.Close()

	// 20 expected on a subflow busy for the whole second.
	if n := countReasons(fast.stop(t))[ReasonHeartbeat]; n < 10 {
		t.Errorf("%d heartbeats in 1 s with a 50 ms heartbeat, want 10 or more", n)
	}
	if n := countReasons(slow.stop(t))[ReasonHeartbeat]; n != 0 {
		t.Errorf("%d heartbeats in 1 s with a 1 h heartbeat, want none", n)
	}
}

func TestThresholdOptions(t *testing.T) {
	lab := newKernelLab(t)
	ino := nsInode(t, lab.Client)
	deafOpts := quiet
	deafOpts.NetNSInode = ino
	deaf := collect(t, loadTracer(t, deafOpts))
	keen := collect(t, loadTracer(t, Options{
		NetNSInode: ino, RTTChange: 0.01, RTTFloor: time.Microsecond,
		CwndDecrease: 0.01, CwndIncrease: 0.01,
	}))

	c := dial(t, lab, listen(t, lab, 5210))
	sendFor(t, c, 500*time.Millisecond)
	c.Close()

	d := countReasons(deaf.stop(t))
	if d[ReasonRTT] != 0 {
		t.Errorf("%d rtt records with the threshold out of reach, want none", d[ReasonRTT])
	}
	k := countReasons(keen.stop(t))
	// A cwnd of 1 after a retransmission timeout that BBR then restores
	// to its old value is a thousandfold increase, so losses on this
	// machine can bring a few cwnd records even with these thresholds.
	if d[ReasonCwnd] > 3 || d[ReasonCwnd]*100 > k[ReasonCwnd] {
		t.Errorf("%d cwnd records with the thresholds out of reach against %d at 1%%, want at most 3 and under 1%%",
			d[ReasonCwnd], k[ReasonCwnd])
	}
	if k[ReasonRTT] == 0 {
		t.Error("no rtt record with a 1% threshold")
	}
	if k[ReasonCwnd] == 0 {
		t.Error("no cwnd record with 1% thresholds")
	}
	t.Logf("records by reason: out of reach %v, 1%% %v", d, k)
}

// TestSlowCallbackDrops checks that a reader slower than the kernel
// never slows the kernel: the ring fills and drops are counted.
func TestSlowCallbackDrops(t *testing.T) {
	lab := newKernelLab(t)
	tr := loadTracer(t, Options{NetNSInode: nsInode(t, lab.Client), RingSize: 4096})
	col := collectSlow(t, tr, 20*time.Millisecond)
	addr := listen(t, lab, 5211)

	start := time.Now()
	for range 20 {
		c := dial(t, lab, addr)
		send(t, c, 256<<10)
		c.Close()
	}
	took := time.Since(start)
	col.stop(t)

	d, err := tr.Drops()
	if err != nil {
		t.Fatal(err)
	}
	if d.Ring == 0 {
		t.Error("no ring drops with a one-page ring and a 20 ms callback")
	}
	// 20 connections bring over 100 records, 2 s of callbacks.
	if took > 2*time.Second {
		t.Errorf("20 connections took %v with a slow reader, the kernel waited for it", took)
	}
	t.Logf("drops %+v, transfers took %v", d, took)
}

// collectSlow is collect with a callback that sleeps for delay.
func collectSlow(t *testing.T, tr *Tracer, delay time.Duration) *collector {
	t.Helper()
	c := collect(t, tr)
	c.mu.Lock()
	c.delay = delay
	c.mu.Unlock()
	return c
}
