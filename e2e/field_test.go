package e2e

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// TestLostEventsResynchronise stops the daemon while connections open, so
// that its event socket overflows, and checks that after it resumes it
// logs the loss and still gives every connection its subflow, exactly
// once.
func TestLostEventsResynchronise(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client, "--event-buffer", "65536", "--bpf=false")
	mptcpServer(t, lab.Server, "7120")

	const n = 300
	if err := d.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		conns = append(conns, mptcpDial(t, lab.Client, serverAddr(lab, 7120)))
	}
	if err := d.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 20*time.Second, "every connection to get its second subflow", d, func() bool {
		cs := diagConnections(t, lab.Client)
		if len(cs) != n {
			return false
		}
		for _, c := range cs {
			if len(c.Subflows) < 2 {
				return false
			}
		}
		return true
	})
	mustContain(t, d.logText(), "events were lost", "daemon log")
	time.Sleep(time.Second)
	for _, c := range diagConnections(t, lab.Client) {
		if len(c.Subflows) != 2 {
			t.Errorf("connection %08x has %d subflows, want 2 (managed once)", c.Info.Token, len(c.Subflows))
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestAdaptiveReopensAfterReset makes the server reset the path 1
// subflow, and checks that the adaptive policy reopens it with growing
// delays until the path accepts it again.
func TestAdaptiveReopensAfterReset(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client, "--policy", "adaptive", "--retry-min", "300ms")
	mptcpServer(t, lab.Server, "7121")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7121))
	s := startSender(conn)
	defer s.halt(t)
	path1 := lab.Paths[1].ClientAddr
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })

	nft(t, lab.Server,
		"add table inet rst",
		"add chain inet rst in { type filter hook input priority 0 ; }",
		fmt.Sprintf("add rule inet rst in iifname %s tcp dport 7121 reject with tcp reset", lab.Paths[1].ServerIf))
	waitFor(t, 10*time.Second, "two reopening attempts", d, func() bool {
		return strings.Count(d.logText(), "reopening subflow closed by an error") >= 2
	})
	if countFrom(liveSubflows(t, lab.Client), path1) != 0 {
		t.Error("a subflow on the resetting path is established")
	}

	lab.Server.Run(t, "nft", "delete", "table", "inet", "rst")
	waitFor(t, 10*time.Second, "the subflow to come back once the path accepts it", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), path1) == 1
	})
}

// TestInterfaceRecreated deletes the path 1 link and creates it again with
// a new interface index, as a USB modem or a VPN does, and checks that the
// subflow comes back.
func TestInterfaceRecreated(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	d, _ := labDaemon(t, lab.Client)
	mptcpServer(t, lab.Server, "7122")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7122))
	s := startSender(conn)
	defer s.halt(t)
	p := lab.Paths[1]
	waitFor(t, 5*time.Second, "2 subflows", d, func() bool { return len(liveSubflows(t, lab.Client)) == 2 })
	oldIndex := strings.TrimSpace(lab.Client.Run(t, "cat", "/sys/class/net/"+p.ClientIf+"/ifindex"))

	lab.Client.Run(t, "ip", "link", "del", p.ClientIf)
	waitFor(t, 5*time.Second, "the subflow of the deleted link to close", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), p.ClientAddr) == 0
	})

	lab.Client.Run(t, "ip", "link", "add", p.ClientIf, "type", "veth", "peer", "name", p.ServerIf, "netns", lab.Server.Name)
	lab.Client.Run(t, "ip", "addr", "add", p.ClientAddr.String()+"/24", "dev", p.ClientIf)
	lab.Server.Run(t, "ip", "addr", "add", p.ServerAddr.String()+"/24", "dev", p.ServerIf)
	lab.Server.Run(t, "ip", "link", "set", p.ServerIf, "up")
	lab.Client.Run(t, "ip", "link", "set", p.ClientIf, "up")
	lab.Client.Run(t, "ip", "route", "add", p.ServerAddr.String(), "dev", p.ClientIf, "table", "101")
	lab.Client.Run(t, "ip", "route", "add", lab.Paths[0].ServerAddr.String(), "via", p.ServerAddr.String(), "dev", p.ClientIf, "table", "101")
	newIndex := strings.TrimSpace(lab.Client.Run(t, "cat", "/sys/class/net/"+p.ClientIf+"/ifindex"))
	if newIndex == oldIndex {
		t.Fatalf("re-created link kept ifindex %s", oldIndex)
	}
	waitFor(t, 10*time.Second, "the subflow to return on the re-created link", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), p.ClientAddr) == 1
	})
	waitFor(t, 10*time.Second, "data on the returned subflow", d, func() bool {
		for _, sf := range liveSubflows(t, lab.Client) {
			if sf.ID.Src.Addr().Unmap() == p.ClientAddr && sf.Info != nil && sf.Info.BytesAcked > 1<<20 {
				return true
			}
		}
		return false
	})
}

// TestRouteAppearsLater starts with path 1 unreachable by route, so the
// daemon's subflow fails, and checks that the subflow is opened once the
// route appears, which the kernel reports only as a route change.
func TestRouteAppearsLater(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2})
	p := lab.Paths[1]
	server := lab.Paths[0].ServerAddr.String()
	lab.Client.Run(t, "ip", "route", "del", server, "table", "101")
	lab.Client.Run(t, "ip", "route", "add", "unreachable", server, "table", "101")
	d, _ := labDaemon(t, lab.Client)
	mptcpServer(t, lab.Server, "7123")
	conn := mptcpDial(t, lab.Client, serverAddr(lab, 7123))
	s := startSender(conn)
	defer s.halt(t)

	time.Sleep(time.Second)
	if n := countFrom(liveSubflows(t, lab.Client), p.ClientAddr); n != 0 {
		t.Fatalf("%d subflows from %s without a route, want 0", n, p.ClientAddr)
	}
	lab.Client.Run(t, "ip", "route", "del", "unreachable", server, "table", "101")
	lab.Client.Run(t, "ip", "route", "add", server, "via", p.ServerAddr.String(), "dev", p.ClientIf, "table", "101")
	waitFor(t, 5*time.Second, "the subflow once the route exists", d, func() bool {
		return countFrom(liveSubflows(t, lab.Client), p.ClientAddr) == 1
	})
}
