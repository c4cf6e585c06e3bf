package bpf

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// TestRecordsMatchPMEvents compares the identity in the first record of
// each subflow with the mptcp_pm events ESTABLISHED (first subflow) and
// SUB_ESTABLISHED (join) of the same connection.
func TestRecordsMatchPMEvents(t *testing.T) {
	lab := newKernelLab(t)
	nsFile, err := os.Open(lab.Client.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer nsFile.Close()
	events, err := pm.ListenEvents(&pm.Config{NetNS: int(nsFile.Fd())})
	if err != nil {
		t.Fatalf("listen to mptcp_pm events: %v", err)
	}
	defer events.Close()

	tr := loadTracer(t, Options{NetNSInode: nsInode(t, lab.Client)})
	col := collect(t, tr)
	c := dial(t, lab, listen(t, lab, 5208))
	send(t, c, 1<<20)
	waitSubflows(t, lab, 2)
	send(t, c, 1<<20)
	got := receiveSubflowEvents(t, events, 2)
	c.Close()
	records := col.stop(t)

	first := map[[2]netip.AddrPort]Record{}
	for _, r := range records {
		k := [2]netip.AddrPort{r.Src, r.Dst}
		if _, ok := first[k]; !ok && r.Reason&ReasonNew != 0 {
			first[k] = r
		}
	}
	for _, ev := range got {
		r, ok := first[[2]netip.AddrPort{ev.Local, ev.Remote}]
		if !ok {
			t.Errorf("no new record for %v event %v->%v", ev.Type, ev.Local, ev.Remote)
			continue
		}
		if r.Token != ev.Token {
			t.Errorf("%v: token %#x, %v event says %#x", ev.Local, r.Token, ev.Type, ev.Token)
		}
		if ev.Type != pm.EventSubEstablished {
			continue // ESTABLISHED carries no address ids
		}
		if int(r.LocalID) != int(ev.LocalID) || r.RemoteID != ev.RemoteID {
			t.Errorf("%v: ids %d/%d, %v event says %d/%d",
				ev.Local, r.LocalID, r.RemoteID, ev.Type, ev.LocalID, ev.RemoteID)
		}
		if r.Backup != ev.Backup {
			t.Errorf("%v: backup %v, %v event says %v", ev.Local, r.Backup, ev.Type, ev.Backup)
		}
	}
}

// receiveSubflowEvents returns the ESTABLISHED and SUB_ESTABLISHED
// events, waiting for n of them for at most 5 s.
func receiveSubflowEvents(t *testing.T, ec *pm.EventConn, n int) []pm.Event {
	t.Helper()
	ec.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []pm.Event
	for len(got) < n {
		evs, err := ec.Receive()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("got %d subflow events, want %d", len(got), n)
		}
		if err != nil {
			t.Fatalf("receive mptcp_pm events: %v", err)
		}
		for _, ev := range evs {
			if ev.Type == pm.EventEstablished || ev.Type == pm.EventSubEstablished {
				got = append(got, ev)
			}
		}
	}
	return got
}
