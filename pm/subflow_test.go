package pm_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"net/netip"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

func TestSubflowCreateEstablishes(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			l := newPMLab(t, nstest.LabOptions{Paths: 2, IPv6: v6})
			_, token := l.connect()
			l.events.wait(t, "CREATED", func(e pm.Event) bool {
				return e.Type == pm.EventCreated && e.Token == token
			})

			local := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}
			remote := l.ServerAddrPort(testPort)
			if err := l.client.SubflowCreate(token, local, remote); err != nil {
				t.Fatalf("subflow create: %v", err)
			}

			ev := l.events.wait(t, "SUB_ESTABLISHED", isSub(token))
			if ev.Local.Addr() != local.Addr {
				t.Errorf("local address = %s, want %s", ev.Local.Addr(), local.Addr)
			}
			if ev.LocalID != 1 {
				t.Errorf("local id = %d, want 1", ev.LocalID)
			}
			if ev.Remote != remote {
				t.Errorf("remote = %s, want %s", ev.Remote, remote)
			}
		})
	}
}

func isSub(token uint32) func(pm.Event) bool {
	return func(e pm.Event) bool {
		return e.Type == pm.EventSubEstablished && e.Token == token
	}
}

func family(v6 bool) string {
	if v6 {
		return "ipv6"
	}
	return "ipv4"
}

func TestSubflowCreateBatchErrors(t *testing.T) {
	l := newPMLab(t, nstest.LabOptions{Paths: 2})
	_, token := l.connect()
	remote := l.ServerAddrPort(testPort)

	reqs := []pm.SubflowRequest{
		{Token: token, Local: pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}, Remote: remote},
		{Token: token ^ 1, Local: pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}, Remote: remote},
		{Token: token, Local: pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1, Flags: pm.FlagSignal}, Remote: remote},
		{Token: token, Local: pm.Local{Addr: l.Paths[0].ClientAddr, ID: 2}, Remote: netip.AddrPortFrom(l.Paths[1].ServerAddr, testPort)},
	}
	errs := l.client.SubflowCreateBatch(reqs)
	if len(errs) != len(reqs) {
		t.Fatalf("got %d errors for %d requests", len(errs), len(reqs))
	}
	for i, want := range []string{"", "invalid token", "invalid addr flags", ""} {
		got := ""
		var pe *pm.Error
		if errors.As(errs[i], &pe) {
			got = pe.Message
		} else if errs[i] != nil {
			got = errs[i].Error()
		}
		if got != want {
			t.Errorf("request %d: error %q, want kernel message %q", i, errs[i], want)
		}
	}
	for range 2 {
		l.events.wait(t, "SUB_ESTABLISHED", isSub(token))
	}
}

func TestSubflowDestroy(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		t.Run(family(v6), func(t *testing.T) {
			l := newPMLab(t, nstest.LabOptions{Paths: 2, IPv6: v6})
			_, token := l.connect()
			local := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}
			if err := l.client.SubflowCreate(token, local, l.ServerAddrPort(testPort)); err != nil {
				t.Fatalf("subflow create: %v", err)
			}
			sf := l.events.wait(t, "SUB_ESTABLISHED", isSub(token))
			if out := subflowLine(t, l.Client, sf.Local); !strings.Contains(out, "ESTAB") {
				t.Fatalf("ss has no established subflow from %s: %q", sf.Local, out)
			}

			wrong := netip.AddrPortFrom(sf.Remote.Addr(), sf.Remote.Port()+1)
			err := l.client.SubflowDestroy(token, sf.Local, wrong)
			wantKernelError(t, err, unix.ESRCH, "subflow not found")
			err = l.client.SubflowDestroy(token, netip.AddrPortFrom(sf.Local.Addr(), 0), sf.Remote)
			wantKernelError(t, err, unix.EINVAL, "missing local port")

			if err := l.client.SubflowDestroy(token, sf.Local, sf.Remote); err != nil {
				t.Fatalf("subflow destroy: %v", err)
			}
			closed := l.events.wait(t, "SUB_CLOSED", func(e pm.Event) bool {
				return e.Type == pm.EventSubClosed && e.Token == token
			})
			if closed.Local != sf.Local || closed.Remote != sf.Remote {
				t.Errorf("SUB_CLOSED %s -> %s, want %s -> %s",
					closed.Local, closed.Remote, sf.Local, sf.Remote)
			}
			waitGone(t, l.Client, sf.Local)
		})
	}
}

// waitGone waits until ss lists no established socket bound to local.
func waitGone(t *testing.T, ns *nstest.NS, local netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := subflowLine(t, ns, local)
		if !strings.Contains(out, "ESTAB") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subflow from %s still established: %q", local, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSubflowCreateRejected(t *testing.T) {
	l := newPMLab(t, nstest.LabOptions{Paths: 2})
	_, token := l.connect()
	local := pm.Local{Addr: l.Paths[1].ClientAddr, ID: 1}
	remote := l.ServerAddrPort(testPort)

	err := l.client.SubflowCreate(token^1, local, remote)
	wantKernelError(t, err, unix.EINVAL, "invalid token")
	want := fmt.Sprintf("subflow create token %08x local %s id 1 remote %s: "+
		"invalid token (kernel: invalid token at TOKEN, errno EINVAL)",
		token^1, local.Addr, remote)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error text\n%q\nwant prefix\n%q", err, want)
	}

	v6 := netip.MustParseAddrPort("[fd00::2]:7100")
	err = l.client.SubflowCreate(token, local, v6)
	wantKernelError(t, err, unix.EINVAL, "families mismatch")

	absent := pm.Local{Addr: netip.MustParseAddr("10.200.9.1"), ID: 9}
	err = l.client.SubflowCreate(token, absent, remote)
	wantKernelError(t, err, unix.EADDRNOTAVAIL, "connect error: -99")

	err = l.client.SubflowCreate(token, local, netip.AddrPortFrom(remote.Addr(), 0))
	if err == nil || !strings.Contains(err.Error(), "missing remote port") {
		t.Errorf("remote port 0: error %v, want missing remote port", err)
	}
}

func TestSubflowCreateOptions(t *testing.T) {
	l := newPMLab(t, nstest.LabOptions{Paths: 2})
	_, token := l.connect()
	ifindex := linkIndex(t, l.Client, l.Paths[1].ClientIf)
	local := pm.Local{Addr: l.Paths[1].ClientAddr, Port: 40000, ID: 4,
		IfIndex: ifindex}
	if err := l.client.SubflowCreate(token, local, l.ServerAddrPort(testPort)); err != nil {
		t.Fatalf("subflow create: %v", err)
	}
	sf := l.events.wait(t, "SUB_ESTABLISHED", isSub(token))

	if sf.Local.Port() != 40000 {
		t.Errorf("event local port = %d, want 40000", sf.Local.Port())
	}
	if sf.IfIndex != ifindex {
		t.Errorf("event ifindex = %d, want %d", sf.IfIndex, ifindex)
	}
	out := subflowLine(t, l.Client, netip.AddrPortFrom(local.Addr, 40000))
	if !strings.Contains(out, "%"+l.Paths[1].ClientIf) {
		t.Errorf("ss subflow = %q, want bound to %s", out, l.Paths[1].ClientIf)
	}
	got, err := l.client.LocalAddr(token, 4)
	if err != nil {
		t.Fatalf("local address 4: %v", err)
	}
	if got.IfIndex != ifindex || got.Port != 40000 {
		t.Errorf("local address 4 = %v, want port 40000 ifindex %d", got, ifindex)
	}
}

// TestSubflowMapped runs the userspace PM on a dual-stack connection: a
// socket bound to [::] that connects to an IPv4 server, so its subflows
// are AF_INET6 sockets with IPv4-mapped addresses.
func TestSubflowMapped(t *testing.T) {
	l := newPMLab(t, nstest.LabOptions{Paths: 2})
	c := l.dialMPTCP(netip.IPv6Unspecified(), l.ServerAddrPort(testPort))
	ping(t, c)
	est := l.events.wait(t, "ESTABLISHED", func(e pm.Event) bool {
		return e.Type == pm.EventEstablished
	})
	if est.Family != unix.AF_INET6 || !est.Local.Addr().Is4In6() {
		t.Fatalf("dual-stack connection: family %d local %s, want AF_INET6 with a mapped address",
			est.Family, est.Local.Addr())
	}

	mapped := func(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }
	local := pm.Local{Addr: mapped(l.Paths[1].ClientAddr), ID: 1}
	remote := netip.AddrPortFrom(mapped(l.Paths[0].ServerAddr), testPort)
	if err := l.client.SubflowCreate(est.Token, local, remote); err != nil {
		t.Fatalf("subflow create: %v", err)
	}
	sf := l.events.wait(t, "SUB_ESTABLISHED", isSub(est.Token))
	if sf.Local.Addr() != local.Addr {
		t.Errorf("subflow local = %s, want %s", sf.Local.Addr(), local.Addr)
	}

	plain := netip.AddrPortFrom(sf.Local.Addr().Unmap(), sf.Local.Port())
	plainRemote := netip.AddrPortFrom(sf.Remote.Addr().Unmap(), sf.Remote.Port())
	err := l.client.SubflowDestroy(est.Token, plain, plainRemote)
	wantKernelError(t, err, unix.ESRCH, "subflow not found")
	if err := l.client.SubflowDestroy(est.Token, sf.Local, sf.Remote); err != nil {
		t.Fatalf("subflow destroy with mapped addresses: %v", err)
	}
	l.events.wait(t, "SUB_CLOSED", func(e pm.Event) bool {
		return e.Type == pm.EventSubClosed && e.Token == est.Token
	})
}

// linkIndex returns the ifindex of dev in ns.
func linkIndex(t *testing.T, ns *nstest.NS, dev string) int32 {
	t.Helper()
	out := ns.Run(t, "cat", "/sys/class/net/"+dev+"/ifindex")
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("ifindex of %s: %v", dev, err)
	}
	return int32(n)
}

// TestSubflowCreateBatchOrder sends more requests than one window, all
// with unknown tokens, and checks that each error names its own token.
func TestSubflowCreateBatchOrder(t *testing.T) {
	ns := nstest.NewNS(t, "pmbatch")
	c, err := pm.Dial(nsConfig(t, ns))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()

	reqs := make([]pm.SubflowRequest, 300)
	for i := range reqs {
		reqs[i] = pm.SubflowRequest{Token: uint32(1000 + i),
			Local:  pm.Local{Addr: netip.MustParseAddr("10.0.0.1"), ID: 1},
			Remote: netip.MustParseAddrPort("10.0.0.2:80")}
	}
	reqs[150].Remote = netip.MustParseAddrPort("10.0.0.2:0")
	errs := c.SubflowCreateBatch(reqs)

	for i, err := range errs {
		if i == 150 {
			if err == nil || !strings.Contains(err.Error(), "missing remote port") {
				t.Errorf("request 150: %v, want missing remote port", err)
			}
			continue
		}
		var pe *pm.Error
		if !errors.As(err, &pe) || pe.Message != "invalid token" {
			t.Errorf("request %d: %v, want invalid token", i, err)
			continue
		}
		if want := fmt.Sprintf("token %08x ", 1000+i); !strings.Contains(pe.Request, want) {
			t.Errorf("request %d: error for %q, want %q", i, pe.Request, want)
		}
	}
}
