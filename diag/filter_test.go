package diag

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"golang.org/x/sys/unix"
)

// kernelCount counts the replies to req without the user-space filter, so
// that it measures what the kernel's bytecode selected.
func kernelCount(t *testing.T, c *Conn, protocol uint16, req Request) int {
	t.Helper()
	fams, err := req.families()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fam := range fams {
		r := request{
			op: "count", family: fam, protocol: protocol, ext: extInfo,
			states: req.states(), bytecode: compileBytecode(&req), dump: true,
		}
		err := c.execute(&r, func([]byte) error { n++; return nil })
		if err != nil {
			t.Fatalf("kernel filter %+v: %v", req, err)
		}
	}
	return n
}

func TestFilters(t *testing.T) {
	tr := startTransfer(t, false, 1<<20)
	c := dialNS(t, tr.lab.Client)
	conn := waitSubflows(t, c, 2)
	initial, join := conn.Subflows[0], conn.Subflows[1]
	token := conn.Info.Token
	p0, p1 := tr.lab.Paths[0], tr.lab.Paths[1]

	tcpCases := []struct {
		name string
		req  Request
		want int
	}{
		{"all", Request{}, 2},
		{"ipv4", Request{Family: unix.AF_INET}, 2},
		{"ipv6", Request{Family: unix.AF_INET6}, 0},
		{"sport", Request{SrcPort: join.ID.Src.Port()}, 1},
		{"dport", Request{DstPort: 5201}, 2},
		{"dport other", Request{DstPort: 5202}, 0},
		{"port either", Request{Port: initial.ID.Src.Port()}, 1},
		{"port server", Request{Port: 5201}, 2},
		{"src prefix", Request{Src: netip.PrefixFrom(p1.ClientAddr, 24)}, 1},
		{"src host", Request{Src: netip.PrefixFrom(p0.ClientAddr, 32)}, 1},
		{"dst prefix", Request{Dst: netip.PrefixFrom(p0.ServerAddr, 24)}, 2},
		{"dst other", Request{Dst: netip.MustParsePrefix("192.0.2.0/24")}, 0},
		{"src v6 prefix", Request{Src: netip.MustParsePrefix("::/0")}, 0},
		{"ifindex", Request{IfIndex: join.ID.IfIndex}, 1},
		{"port and prefix", Request{Port: 5201, Src: netip.PrefixFrom(p1.ClientAddr, 24)}, 1},
		{"listen only", Request{States: States(StateListen)}, 0},
	}
	for _, tc := range tcpCases {
		t.Run("tcp "+tc.name, func(t *testing.T) {
			got, err := c.DumpTCP(tc.req)
			if err != nil {
				t.Fatalf("DumpTCP: %v", err)
			}
			if len(got) != tc.want {
				t.Errorf("DumpTCP returned %d sockets, want %d", len(got), tc.want)
			}
			if n := kernelCount(t, c, ipprotoTCP, tc.req); n != tc.want {
				t.Errorf("kernel bytecode selected %d sockets, want %d", n, tc.want)
			}
		})
	}

	userCases := []struct {
		name string
		req  Request
		want int
	}{
		{"token", Request{Token: token}, 2},
		{"token other", Request{Token: token + 1}, 0},
		{"cookie", Request{Cookie: join.ID.Cookie}, 1},
		{"cookie other", Request{Cookie: 1}, 0},
	}
	for _, tc := range userCases {
		t.Run("tcp "+tc.name, func(t *testing.T) {
			got, err := c.DumpTCP(tc.req)
			if err != nil {
				t.Fatalf("DumpTCP: %v", err)
			}
			if len(got) != tc.want {
				t.Errorf("DumpTCP returned %d sockets, want %d", len(got), tc.want)
			}
		})
	}

	mptcpCases := []struct {
		name   string
		req    Request
		want   int
		kernel bool // filtered by bytecode
	}{
		{"all", Request{}, 1, true},
		{"token", Request{Token: token}, 1, false},
		{"token other", Request{Token: token + 1}, 0, false},
		{"dport", Request{DstPort: 5201}, 1, true},
		{"dport other", Request{DstPort: 5202}, 0, true},
		{"src prefix", Request{Src: netip.PrefixFrom(p0.ClientAddr, 24)}, 1, true},
		{"src other", Request{Src: netip.PrefixFrom(p1.ClientAddr, 24)}, 0, true},
		{"ipv6", Request{Family: unix.AF_INET6}, 0, true},
		{"token ipv6", Request{Token: token, Family: unix.AF_INET6}, 0, false},
	}
	for _, tc := range mptcpCases {
		t.Run("mptcp "+tc.name, func(t *testing.T) {
			got, err := c.DumpMPTCP(tc.req)
			if err != nil {
				t.Fatalf("DumpMPTCP: %v", err)
			}
			if len(got) != tc.want {
				t.Errorf("DumpMPTCP returned %d sockets, want %d", len(got), tc.want)
			}
			if !tc.kernel {
				return
			}
			if n := kernelCount(t, c, ipprotoMPTCP, tc.req); n != tc.want {
				t.Errorf("kernel bytecode selected %d sockets, want %d", n, tc.want)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	tr := startTransfer(t, true, 1<<20)
	c := dialNS(t, tr.lab.Client)
	conn := waitSubflows(t, c, 2)
	token := conn.Info.Token

	t.Run("mptcp token", func(t *testing.T) {
		s, err := c.LookupMPTCP(token)
		if err != nil {
			t.Fatalf("LookupMPTCP(%#x): %v", token, err)
		}
		if s.Info == nil || s.Info.Token != token {
			t.Errorf("LookupMPTCP(%#x) returned %+v", token, s.Info)
		}
		if s.ID != conn.ID {
			t.Errorf("LookupMPTCP id %+v, dump id %+v", s.ID, conn.ID)
		}
	})
	t.Run("mptcp unknown token", func(t *testing.T) {
		_, err := c.LookupMPTCP(token + 1)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupMPTCP(unknown) error %v, want ErrNotFound", err)
		}
	})
	t.Run("mptcp cookie is SO_COOKIE", func(t *testing.T) {
		want := soCookie(t, tr.client)
		if conn.ID.Cookie != want {
			t.Errorf("MPTCP socket cookie %#x, SO_COOKIE %#x", conn.ID.Cookie, want)
		}
	})

	join := conn.Subflows[1]
	t.Run("tcp tuple", func(t *testing.T) {
		id := join.ID
		id.Cookie = 0
		s, err := c.LookupTCP(id)
		if err != nil {
			t.Fatalf("LookupTCP: %v", err)
		}
		if s.ID.Cookie != join.ID.Cookie {
			t.Errorf("LookupTCP cookie %#x, dump cookie %#x", s.ID.Cookie, join.ID.Cookie)
		}
		if s.Subflow == nil || s.Subflow.LocalToken != token {
			t.Errorf("LookupTCP subflow %+v, want token %#x", s.Subflow, token)
		}
	})
	t.Run("tcp tuple and cookie", func(t *testing.T) {
		if _, err := c.LookupTCP(join.ID); err != nil {
			t.Fatalf("LookupTCP: %v", err)
		}
	})
	t.Run("tcp wrong cookie", func(t *testing.T) {
		id := join.ID
		id.Cookie++
		_, err := c.LookupTCP(id)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupTCP(wrong cookie) error %v, want ErrNotFound", err)
		}
	})
	t.Run("tcp missing", func(t *testing.T) {
		id := join.ID
		id.Cookie = 0
		id.Src = netip.AddrPortFrom(id.Src.Addr(), 1)
		_, err := c.LookupTCP(id)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupTCP(missing) error %v, want ErrNotFound", err)
		}
	})
}

func TestListeners(t *testing.T) {
	tr := startTransfer(t, false, 1<<20)
	c := dialNS(t, tr.lab.Server)

	def, err := c.DumpMPTCP(Request{})
	if err != nil {
		t.Fatalf("DumpMPTCP: %v", err)
	}
	for _, s := range def {
		if s.State == StateListen {
			t.Errorf("default request returned listener %s", s.ID.Src)
		}
	}

	ls, err := c.DumpMPTCP(Request{States: States(StateListen)})
	if err != nil {
		t.Fatalf("DumpMPTCP: %v", err)
	}
	if len(ls) != 1 || ls[0].ID.Src.Port() != 5201 {
		t.Fatalf("MPTCP listeners %+v, want one on port 5201", ls)
	}
	tl, err := c.DumpTCP(Request{States: States(StateListen)})
	if err != nil {
		t.Fatalf("DumpTCP: %v", err)
	}
	if len(tl) != 1 || tl[0].ULP != "mptcp" {
		t.Fatalf("TCP listeners %+v, want one with ULP mptcp", tl)
	}
}

// soCookie returns SO_COOKIE of a Go connection's socket.
func soCookie(t *testing.T, c net.Conn) uint64 {
	t.Helper()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no raw socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cookie uint64
	var serr error
	err = raw.Control(func(fd uintptr) {
		cookie, serr = unix.GetsockoptUint64(int(fd), unix.SOL_SOCKET, unix.SO_COOKIE)
	})
	if err != nil || serr != nil {
		t.Fatalf("SO_COOKIE: %v %v", err, serr)
	}
	return cookie
}

// TestBytecodeRejected checks that a kernel error in a dump reaches the
// caller as an *OpError with its errno.
func TestBytecodeRejected(t *testing.T) {
	ns := nstest.NewNS(t, "diagbc")
	c := dialNS(t, ns)
	r := request{op: "dump", family: unix.AF_INET, protocol: ipprotoTCP,
		states: AllStates, bytecode: []byte{99, 4, 8, 0}, dump: true}
	err := c.execute(&r, func([]byte) error { return nil })
	var oe *OpError
	if !errors.As(err, &oe) || oe.Errno != unix.EINVAL {
		t.Fatalf("dump with an unknown bytecode operation: %v, want EINVAL", err)
	}
	// The socket stays usable after the error.
	if _, err := c.DumpTCP(Request{}); err != nil {
		t.Errorf("dump after the error: %v", err)
	}
}

// TestDualStackMapped checks an IPv4 client of a dual-stack listener: the
// server's sockets are AF_INET6 with IPv4-mapped addresses, and an IPv4
// prefix selects them in the kernel and in user space.
func TestDualStackMapped(t *testing.T) {
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 1, ClientPM: "kernel"})
	var ln net.Listener
	err := lab.Server.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", "[::]:5202")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	err = lab.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		c, err := d.Dial("tcp", lab.ServerAddrPort(5202).String())
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := <-accepted; c != nil {
		t.Cleanup(func() { c.Close() })
	}

	c := dialNS(t, lab.Server)
	v4 := netip.PrefixFrom(lab.Paths[0].ServerAddr, 24)
	for _, tc := range []struct {
		name     string
		protocol uint16
		req      Request
		want     int
	}{
		{"mptcp v4 prefix", ipprotoMPTCP, Request{Src: v4}, 1},
		{"mptcp AF_INET", ipprotoMPTCP, Request{Family: unix.AF_INET}, 0},
		{"mptcp AF_INET6", ipprotoMPTCP, Request{Family: unix.AF_INET6, Dst: netip.PrefixFrom(lab.Paths[0].ClientAddr, 32)}, 1},
		{"tcp v4 prefix", ipprotoTCP, Request{Src: v4, Port: 5202}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if n := kernelCount(t, c, tc.protocol, tc.req); n != tc.want {
				t.Errorf("kernel bytecode selected %d sockets, want %d", n, tc.want)
			}
		})
	}
	socks, err := c.DumpMPTCP(Request{Src: v4})
	if err != nil || len(socks) != 1 {
		t.Fatalf("DumpMPTCP: %v, %d sockets", err, len(socks))
	}
	if s := socks[0]; s.Family != unix.AF_INET6 || !s.ID.Src.Addr().Is4In6() {
		t.Errorf("server socket family %d source %s, want AF_INET6 with an IPv4-mapped address", s.Family, s.ID.Src)
	}
}
