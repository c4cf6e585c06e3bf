package pm_test

import (
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

var update = flag.Bool("update", false,
	"capture events and replies from the kernel into testdata/")

const goldenHeader = "# Datagrams read from the mptcp_pm generic netlink family on\n" +
	"# Linux 6.18 by TestCaptureGolden (go test ./pm -run CaptureGolden -update).\n" +
	"# Each \"# label\" line names the hex datagram on the next line.\n"

// recorder collects traced datagrams under the current label.
type recorder struct {
	mu    sync.Mutex
	label string
	recs  []pm.GoldenRecord
}

func (r *recorder) set(label string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.label = label
}

func (r *recorder) add(side string) func([]byte) {
	return func(b []byte) {
		r.mu.Lock()
		defer r.mu.Unlock()
		label := side + " " + r.label
		if len(b) > 16 {
			// Byte 16 is the generic netlink command: the event type.
			label += fmt.Sprintf(" cmd %d", b[16])
		}
		r.recs = append(r.recs, pm.GoldenRecord{Label: label, Data: b})
	}
}

// TestCaptureGolden records the events and replies of a scripted run
// into testdata/. It runs only with -update.
func TestCaptureGolden(t *testing.T) {
	if !*update {
		t.Skip("records testdata only with -update")
	}
	events, replies := &recorder{}, &recorder{}
	for _, v6 := range []bool{false, true} {
		captureRun(t, v6, events, replies)
	}
	for name, r := range map[string]*recorder{"events.hex": events, "replies.hex": replies} {
		if err := pm.WriteGolden(filepath.Join("testdata", name), goldenHeader, r.recs); err != nil {
			t.Fatal(err)
		}
	}
}

func captureRun(t *testing.T, v6 bool, events, replies *recorder) {
	fam := family(v6)
	l := newPMLab(t, nstest.LabOptions{Paths: 3, IPv6: v6})
	peer := listenEvents(t, nsConfig(t, l.Server))
	events.set(fam)
	replies.set(fam)
	pm.SetEventTrace(l.events.conn, events.add("client"))
	pm.SetEventTrace(peer.conn, events.add("server"))
	pm.SetTrace(l.client, replies.add("client"))

	c, token := l.connect()
	ifindex := linkIndex(t, l.Client, l.Paths[1].ClientIf)
	local := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1, IfIndex: ifindex}
	if err := l.client.SubflowCreate(token, local, l.ServerAddrPort(testPort)); err != nil {
		t.Fatal(err)
	}
	sf := l.events.wait(t, "SUB_ESTABLISHED", isSub(token))

	// A join to a closed port fails with ECONNREFUSED.
	bad := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}
	if err := l.client.SubflowCreate(token, bad, l.ServerAddrPort(testPort+1)); err != nil {
		t.Fatal(err)
	}
	l.events.wait(t, "failed SUB_CLOSED", func(e pm.Event) bool {
		return e.Type == pm.EventSubClosed && e.Error != 0
	})

	if err := l.client.Announce(token, pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}); err != nil {
		t.Fatal(err)
	}
	peer.wait(t, "ANNOUNCED", func(e pm.Event) bool { return e.Type == pm.EventAnnounced })
	backup := pm.Local{Addr: l.Paths[1].ClientAddr, Flags: pm.FlagBackup}
	if err := l.client.SetFlags(token, backup, netip.AddrPortFrom(l.Paths[0].ServerAddr, 0)); err != nil {
		t.Fatal(err)
	}
	peer.wait(t, "SUB_PRIORITY", func(e pm.Event) bool { return e.Type == pm.EventSubPriority })
	captureReplies(t, l, token)

	if err := l.client.Remove(token, 1); err != nil {
		t.Fatal(err)
	}
	peer.wait(t, "REMOVED", func(e pm.Event) bool { return e.Type == pm.EventRemoved })
	// The peer closes its subflows to the removed id.
	l.events.wait(t, "SUB_CLOSED", func(e pm.Event) bool {
		return e.Type == pm.EventSubClosed && e.Local == sf.Local
	})

	second := pm.Local{Addr: l.Paths[0].ClientAddr, ID: 0}
	remote := netip.AddrPortFrom(l.Paths[1].ServerAddr, testPort)
	if err := l.client.SubflowCreate(token, second, remote); err != nil {
		t.Fatal(err)
	}
	sf = l.events.wait(t, "SUB_ESTABLISHED", isSub(token))
	if err := l.client.SubflowDestroy(token, sf.Local, sf.Remote); err != nil {
		t.Fatal(err)
	}
	l.events.wait(t, "SUB_CLOSED", func(e pm.Event) bool {
		return e.Type == pm.EventSubClosed && e.Local == sf.Local
	})

	// The server announces an address and removes it.
	srv := serverClient(t, l)
	ep := pm.Local{Addr: l.Paths[2].ServerAddr, ID: 9, Flags: pm.FlagSignal}
	if err := srv.AddEndpoint(ep); err != nil {
		t.Fatal(err)
	}
	c2, _ := l.connect()
	l.events.wait(t, "ANNOUNCED", func(e pm.Event) bool { return e.Type == pm.EventAnnounced })
	if err := srv.DeleteEndpoint(9, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	l.events.wait(t, "REMOVED", func(e pm.Event) bool { return e.Type == pm.EventRemoved })

	probeListener(t, l.Client)
	c.Close()
	c2.Close()
	l.events.wait(t, "CLOSED", func(e pm.Event) bool { return e.Type == pm.EventClosed })
	time.Sleep(200 * time.Millisecond)
}

// captureReplies sends the commands whose replies the decoders parse,
// and some that fail.
func captureReplies(t *testing.T, l *pmLab, token uint32) {
	t.Helper()
	_, _ = l.client.LocalAddrs(token)
	_, _ = l.client.LocalAddr(token, 1)
	_, _ = l.client.LocalAddrs(token ^ 1)
	_, _ = l.client.LocalAddr(token, 77)
	_, _ = l.client.Limits()
	_ = l.client.Remove(token^1, 1)
	_ = l.client.AddEndpoint(pm.Local{Addr: l.Paths[0].ClientAddr, Port: 7300, ID: 4, Flags: pm.FlagSignal})
	_, _ = l.client.Endpoints()
	_, _ = l.client.Endpoint(4)
	_ = l.client.FlushEndpoints()
}

// serverClient dials a Client in the server namespace.
func serverClient(t *testing.T, l *pmLab) *pm.Client {
	t.Helper()
	c, err := pm.Dial(nsConfig(t, l.Server))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
