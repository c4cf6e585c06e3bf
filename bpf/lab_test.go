package bpf

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// modes runs f once per program variant.
func modes(t *testing.T, f func(t *testing.T, mode string)) {
	for _, mode := range []string{ModeTPBTF, ModeRawTP} {
		t.Run(mode, func(t *testing.T) { f(t, mode) })
	}
}

func TestRecordsPerSubflow(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		testRecordsPerSubflow(t, mode, false)
	})
}

func TestRecordsPerSubflowIPv6(t *testing.T) {
	modes(t, func(t *testing.T, mode string) {
		testRecordsPerSubflow(t, mode, true)
	})
}

func testRecordsPerSubflow(t *testing.T, mode string, ipv6 bool) {
	lab := newKernelLabFamily(t, ipv6)
	tr := loadTracer(t, Options{Mode: mode, NetNSInode: nsInode(t, lab.Client)})
	col := collect(t, tr)

	addr := listen(t, lab, 5201)
	c := dial(t, lab, addr)
	send(t, c, 4<<20)
	subs := waitSubflows(t, lab, 2)
	send(t, c, 4<<20)

	// Idle now: nothing moves srtt or cwnd until the close.
	time.Sleep(200 * time.Millisecond)
	idle := ssSubflows(t, lab.Client)
	idleAt := monotonicNow()
	c.Close()
	time.Sleep(500 * time.Millisecond)
	records := col.stop(t)
	dumpRecords(t, records)
	checkTCPInfo(t, idle, idleAt, records)

	byTuple := groupByTuple(records)
	for _, s := range subs {
		rs := byTuple[[2]netip.AddrPort{s.local, s.peer}]
		if len(rs) == 0 {
			t.Errorf("no record for subflow %v->%v", s.local, s.peer)
			continue
		}
		checkSubflow(t, mode, s, rs)
	}
	for tuple := range byTuple {
		if !hasTuple(subs, tuple) {
			t.Errorf("record for %v->%v, which is not a client subflow", tuple[0], tuple[1])
		}
	}
	t.Logf("%d records for %d subflows", len(records), len(subs))
}

// checkSubflow compares the records of one subflow with ss.
func checkSubflow(t *testing.T, mode string, s ssSubflow, rs []Record) {
	t.Helper()
	first, last := rs[0], rs[len(rs)-1]
	if first.Reason&ReasonNew == 0 {
		t.Errorf("%v: first record has reason %v, want new", s.local, first.Reason)
	}
	if last.Reason&ReasonClose == 0 {
		t.Errorf("%v: last record has reason %v, want close", s.local, last.Reason)
	}
	for _, r := range rs {
		if r.Token != s.token {
			t.Errorf("%v: token %#x, ss says %#x", s.local, r.Token, s.token)
		}
		if int(r.LocalID) != s.localID {
			t.Errorf("%v: local id %d, ss says %d", s.local, r.LocalID, s.localID)
		}
		if int(r.RemoteID) != s.remoteID {
			t.Errorf("%v: remote id %d, ss says %d", s.local, r.RemoteID, s.remoteID)
		}
		// raw_tp reads the cookie only once someone (here ss) has
		// asked the kernel for it.
		if r.Cookie != s.cookie && (mode == ModeTPBTF || r.Cookie != 0) {
			t.Errorf("%v: cookie %#x, ss says %#x", s.local, r.Cookie, s.cookie)
		}
	}
	if last.Cookie != s.cookie {
		t.Errorf("%v: last cookie %#x, ss says %#x", s.local, last.Cookie, s.cookie)
	}
}

// checkTCPInfo compares srtt and cwnd with ss, taken at idle just before
// the close. tcp_probe shows the state before the segment it fires on,
// so the last ACK before the idle period is reported only with the next
// event: the close's first state change, the first record after at.
func checkTCPInfo(t *testing.T, subs []ssSubflow, at uint64, records []Record) {
	t.Helper()
	for _, s := range subs {
		var next *Record
		for i := range records {
			r := &records[i]
			if r.Src == s.local && r.Dst == s.peer && r.Timestamp > at {
				next = r
				break
			}
		}
		if next == nil {
			t.Errorf("%v: no record after the idle ss", s.local)
			continue
		}
		srtt := float64(next.SRTT)
		if d := math.Abs(srtt - s.rttUs); d > math.Max(0.15*s.rttUs, 50) {
			t.Errorf("%v: srtt %v µs, tcp_info says %v µs", s.local, srtt, s.rttUs)
		}
		cwnd := float64(next.SndCwnd)
		if d := math.Abs(cwnd - float64(s.cwnd)); d > 0.1*float64(s.cwnd)+2 {
			t.Errorf("%v: cwnd %v, tcp_info says %d", s.local, cwnd, s.cwnd)
		}
	}
}

func groupByTuple(records []Record) map[[2]netip.AddrPort][]Record {
	m := map[[2]netip.AddrPort][]Record{}
	for _, r := range records {
		k := [2]netip.AddrPort{r.Src, r.Dst}
		m[k] = append(m[k], r)
	}
	return m
}

// waitSubflows waits until the client has n established MPTCP subflows,
// or none when n is 0.
func waitSubflows(t *testing.T, lab *nstest.Lab, n int) []ssSubflow {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		subs := ssSubflows(t, lab.Client)
		if n > 0 && len(subs) >= n || n == 0 && len(subs) == 0 {
			return subs
		}
		if time.Now().After(deadline) {
			t.Fatalf("client has %d subflows, want %d", len(subs), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasTuple(subs []ssSubflow, tuple [2]netip.AddrPort) bool {
	for _, s := range subs {
		if s.local == tuple[0] && s.peer == tuple[1] {
			return true
		}
	}
	return false
}
