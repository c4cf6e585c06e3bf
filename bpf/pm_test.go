package bpf

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
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

// TestBackupFlag checks Record.Backup on a join from an endpoint with
// the backup flag, which this host requests (request_bkup).
func TestBackupFlag(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, ClientPM: "kernel"})
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		lab.Paths[1].ClientAddr.String(), "dev", lab.Paths[1].ClientIf,
		"subflow", "backup")
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

	c := dial(t, lab, listen(t, lab, 5212))
	send(t, c, 1<<20)
	waitSubflows(t, lab, 2)
	send(t, c, 1<<20)
	evs := receiveSubflowEvents(t, events, 2)
	c.Close()
	records := col.stop(t)

	for _, r := range records {
		want := r.Src.Addr() == lab.Paths[1].ClientAddr
		if r.Backup != want {
			t.Errorf("%v->%v %v: backup %v, want %v", r.Src, r.Dst, r.Reason, r.Backup, want)
		}
	}
	for _, ev := range evs {
		t.Logf("%v %v backup=%v", ev.Type, ev.Local, ev.Backup)
	}
}

// TestUserspacePMSubflow checks the identity of a subflow that the
// userspace path manager creates over genetlink, and that a backup
// priority set later (MP_PRIO sent) shows in the next records.
func TestUserspacePMSubflow(t *testing.T) {
	const localID = 5
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, ClientPM: "userspace"})
	nsFile, err := os.Open(lab.Client.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer nsFile.Close()
	client, err := pm.Dial(&pm.Config{NetNS: int(nsFile.Fd())})
	if err != nil {
		t.Fatalf("dial mptcp_pm: %v", err)
	}
	defer client.Close()
	tr := loadTracer(t, Options{NetNSInode: nsInode(t, lab.Client)})
	col := collect(t, tr)

	addr := listen(t, lab, 5213)
	c := dial(t, lab, addr)
	defer c.Close()
	send(t, c, 1<<20)
	token := tokenOf(t, lab, c)
	local := pm.Local{Addr: lab.Paths[1].ClientAddr, ID: localID}
	if err := client.SubflowCreate(token, local, addr); err != nil {
		t.Fatalf("create subflow: %v", err)
	}
	waitSubflows(t, lab, 2)
	sendFor(t, c, 300*time.Millisecond)
	local.Flags = pm.FlagBackup
	if err := client.SetFlags(token, local, addr); err != nil {
		t.Fatalf("set backup: %v", err)
	}
	sendFor(t, c, 200*time.Millisecond)
	c.Close()
	time.Sleep(200 * time.Millisecond)
	records := col.stop(t)

	var joined []Record
	for _, r := range records {
		if r.Src.Addr() == local.Addr {
			joined = append(joined, r)
		}
	}
	if len(joined) == 0 {
		t.Fatal("no record for the subflow created over genetlink")
	}
	first, last := joined[0], joined[len(joined)-1]
	if first.Token != token || first.LocalID != localID {
		t.Errorf("token %#x local id %d, want %#x and %d", first.Token, first.LocalID, token, localID)
	}
	if first.Backup {
		t.Error("subflow is backup before MP_PRIO")
	}
	if !last.Backup {
		t.Errorf("last record (%v) is not backup after MP_PRIO", last.Reason)
	}
}
