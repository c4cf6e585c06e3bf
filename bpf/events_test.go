package bpf

import (
	"net/netip"
	"testing"
	"time"
)

func TestRetransmitRecords(t *testing.T) {
	modes(t, testRetransmitRecords)
}

func testRetransmitRecords(t *testing.T, mode string) {
	lab := newKernelLab(t)
	tr := loadTracer(t, Options{Mode: mode, NetNSInode: nsInode(t, lab.Client)})
	col := collect(t, tr)
	c := dial(t, lab, listen(t, lab, 5204))
	send(t, c, 1<<20) // the kernel PM joins once the connection is fully established
	waitSubflows(t, lab, 2)

	// From now on the server drops 10% of what arrives on path 0, which
	// carries the first subflow. A drop in the client's output hook
	// would not do: TCP gets the local error and sends the segment
	// again later, without counting a retransmission.
	lossy := lab.Paths[0]
	lab.Server.Run(t, "nft", "add", "table", "inet", "bpftest")
	lab.Server.Run(t, "nft", "add", "chain", "inet", "bpftest", "in",
		"{ type filter hook prerouting priority 0; }")
	lab.Server.Run(t, "nft", "add", "rule", "inet", "bpftest", "in",
		"iifname", lossy.ServerIf, "numgen", "random", "mod", "100", "<", "10", "drop")
	send(t, c, 16<<20)
	c.Close()
	waitSubflows(t, lab, 0)
	records := col.stop(t)
	dumpRecords(t, records)

	var retrans, lossyRetrans, caChanges int
	var maxTotal uint32
	for _, r := range records {
		if r.Reason&ReasonRetrans != 0 {
			retrans++
			if r.Src.Addr() == lossy.ClientAddr {
				lossyRetrans++
			}
		}
		if r.Reason&ReasonCAState != 0 {
			caChanges++
		}
		if r.Src.Addr() == lossy.ClientAddr {
			maxTotal = max(maxTotal, r.TotalRetrans)
		}
	}
	t.Logf("%d records, %d retransmit records (%d on the lossy path), %d CA state changes, %d segments retransmitted on the lossy path",
		len(records), retrans, lossyRetrans, caChanges, maxTotal)
	if lossyRetrans == 0 {
		t.Error("no retransmit record on the lossy path")
	}
	if maxTotal == 0 {
		t.Error("total_retrans stays 0 on the lossy path")
	}
	if caChanges == 0 {
		t.Error("no CA state change record")
	}
}

func TestShortConnectionsLeaveNoState(t *testing.T) {
	modes(t, testShortConnectionsLeaveNoState)
}

func testShortConnectionsLeaveNoState(t *testing.T, mode string) {
	const conns = 1000
	lab := newKernelLab(t)
	tr := loadTracer(t, Options{Mode: mode, NetNSInode: nsInode(t, lab.Client)})
	col := collect(t, tr)
	addr := listen(t, lab, 5205)

	for range conns {
		c := dial(t, lab, addr)
		send(t, c, 64<<10)
		c.Close()
	}
	// A loaded machine may close the last subflows a few seconds later.
	var news, closes map[[2]netip.AddrPort]bool
	for deadline := time.Now().Add(10 * time.Second); ; {
		time.Sleep(500 * time.Millisecond)
		news, closes = newsAndCloses(col.snapshot())
		if allClosed(news, closes) || time.Now().After(deadline) {
			break
		}
	}
	records := col.stop(t)
	news, closes = newsAndCloses(records)
	if len(news) < conns {
		t.Errorf("%d subflows reported new, want at least %d", len(news), conns)
	}
	for k := range news {
		if !closes[k] {
			t.Errorf("subflow %v->%v reported new but never closed", k[0], k[1])
		}
	}
	if n := countKeys(t, tr, "states"); n != 0 {
		t.Errorf("%d socket states left after every socket closed", n)
	}
	if n := countKeys(t, tr, "tokens"); n != 0 {
		t.Errorf("%d tokens left in the filter map", n)
	}
	d, err := tr.Drops()
	if err != nil {
		t.Fatal(err)
	}
	if d.Total() != 0 {
		t.Errorf("drops %+v, want none", d)
	}
	t.Logf("%d records, %d subflows", len(records), len(news))
}

// countKeys counts the entries of a hash map. Socket local storage
// cannot be iterated from user space; the kernel frees it with the
// socket, so it counts as empty.
func countKeys(t *testing.T, tr *Tracer, name string) int {
	t.Helper()
	m := tr.coll.Maps[name]
	if m.Type().String() == "SkStorage" {
		return 0
	}
	var key []byte
	n := 0
	it := m.Iterate()
	var value []byte
	for it.Next(&key, &value) {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterate %s: %v", name, err)
	}
	return n
}

func TestDropsCountedWithTinyRing(t *testing.T) {
	modes(t, testDropsCountedWithTinyRing)
}

func testDropsCountedWithTinyRing(t *testing.T, mode string) {
	lab := newKernelLab(t)
	// One page holds 26 records, and nothing reads them.
	tr := loadTracer(t, Options{Mode: mode, NetNSInode: nsInode(t, lab.Client), RingSize: 4096})
	addr := listen(t, lab, 5206)
	for range 20 {
		c := dial(t, lab, addr)
		send(t, c, 256<<10)
		c.Close()
	}

	d, err := tr.Drops()
	if err != nil {
		t.Fatal(err)
	}
	if d.Ring == 0 {
		t.Errorf("ring drops %d with a full one-page ring, want more", d.Ring)
	}
	t.Logf("drops %+v", d)
}

// newsAndCloses returns the 4-tuples with a new record and those with a
// close record.
func newsAndCloses(records []Record) (news, closes map[[2]netip.AddrPort]bool) {
	news, closes = map[[2]netip.AddrPort]bool{}, map[[2]netip.AddrPort]bool{}
	for _, r := range records {
		k := [2]netip.AddrPort{r.Src, r.Dst}
		if r.Reason&ReasonNew != 0 {
			news[k] = true
		}
		if r.Reason&ReasonClose != 0 {
			closes[k] = true
		}
	}
	return news, closes
}

func allClosed(news, closes map[[2]netip.AddrPort]bool) bool {
	for k := range news {
		if !closes[k] {
			return false
		}
	}
	return true
}
