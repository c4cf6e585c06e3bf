package diag

import (
	"fmt"
	"net"
	"reflect"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"golang.org/x/sys/unix"
)

// rawSockopt reads up to size bytes of a socket option of c.
func rawSockopt(t *testing.T, c net.Conn, level, opt, size int) []byte {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	n := uint32(size)
	var errno syscall.Errno
	err = raw.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, uintptr(level), uintptr(opt),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	})
	if err != nil || errno != 0 {
		t.Fatalf("getsockopt(%d, %d): %v %v", level, opt, err, errno)
	}
	return buf[:n]
}

// betweenFields checks every numeric field of got against the same field
// of before and after, the option read just before and after the dump.
func betweenFields(t *testing.T, where string, before, got, after any) {
	t.Helper()
	vb, vg, va := reflect.ValueOf(before), reflect.ValueOf(got), reflect.ValueOf(after)
	for i := 0; i < vg.NumField(); i++ {
		name := vg.Type().Field(i).Name
		var b, g, a uint64
		switch vg.Field(i).Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			b, g, a = vb.Field(i).Uint(), vg.Field(i).Uint(), va.Field(i).Uint()
		case reflect.Int:
			b, g, a = uint64(vb.Field(i).Int()), uint64(vg.Field(i).Int()), uint64(va.Field(i).Int())
		case reflect.Bool:
			b, g, a = boolInt(vb.Field(i).Bool()), boolInt(vg.Field(i).Bool()), boolInt(va.Field(i).Bool())
		default:
			t.Fatalf("%s: field %s has kind %s", where, name, vg.Field(i).Kind())
		}
		if g < min(b, a) || g > max(b, a) {
			t.Errorf("%s %s: diag %d, getsockopt %d before and %d after", where, name, g, b, a)
		}
	}
}

func boolInt(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// loopbackPair opens a TCP connection on 127.0.0.1 inside ns and returns
// both ends.
func loopbackPair(t *testing.T, ns *nstest.NS, port int) (client, server net.Conn) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	err := ns.Do(func() error {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			return err
		}
		defer ln.Close()
		client, err = net.Dial("tcp4", addr)
		if err != nil {
			return err
		}
		server, err = ln.Accept()
		return err
	})
	if err != nil {
		t.Fatalf("loopback connection: %v", err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestTCPInfoMatchesGetsockopt compares every tcp_info field of a dump
// with getsockopt(TCP_INFO) on the same idle socket.
func TestTCPInfoMatchesGetsockopt(t *testing.T) {
	ns := nstest.NewNS(t, "diaginfo")
	client, server := loopbackPair(t, ns, 7000)
	if _, err := client.Write(make([]byte, 100000)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100000)
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	for got := 0; got < len(buf); {
		n, err := server.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	time.Sleep(50 * time.Millisecond) // let the last ACK arrive

	c := dialNS(t, ns)
	port := uint16(client.LocalAddr().(*net.TCPAddr).Port)
	var before, after TCPInfo
	decodeTCPInfo(&before, rawSockopt(t, client, unix.IPPROTO_TCP, unix.TCP_INFO, tcpInfoSize))
	socks, err := c.DumpTCP(Request{SrcPort: port})
	decodeTCPInfo(&after, rawSockopt(t, client, unix.IPPROTO_TCP, unix.TCP_INFO, tcpInfoSize))
	if err != nil || len(socks) != 1 || socks[0].Info == nil {
		t.Fatalf("dump of port %d: %v, %d sockets", port, err, len(socks))
	}
	if before.BytesAcked < 100000 {
		t.Fatalf("bytes_acked %d before the dump, want >= 100000", before.BytesAcked)
	}
	betweenFields(t, "tcp_info", before, *socks[0].Info, after)
}

// TestMPTCPInfoMatchesGetsockopt compares every mptcp_info field of a dump
// with getsockopt(SOL_MPTCP, MPTCP_INFO) on the paused connection.
func TestMPTCPInfoMatchesGetsockopt(t *testing.T) {
	const solMPTCP, mptcpInfoOpt = 284, 1
	tr := startTransfer(t, false, 2<<20)
	client := dialNS(t, tr.lab.Client)
	server := dialNS(t, tr.lab.Server)
	waitSubflows(t, client, 2)
	tr.pause()
	waitIdle(t, client, server)

	var before, after MPTCPInfo
	decodeMPTCPInfo(&before, rawSockopt(t, tr.client, solMPTCP, mptcpInfoOpt, mptcpInfoSize))
	socks, err := client.DumpMPTCP(Request{})
	decodeMPTCPInfo(&after, rawSockopt(t, tr.client, solMPTCP, mptcpInfoOpt, mptcpInfoSize))
	if err != nil || len(socks) != 1 || socks[0].Info == nil {
		t.Fatalf("MPTCP dump: %v, %d sockets", err, len(socks))
	}
	if before.Len != mptcpInfoSize {
		t.Errorf("getsockopt returned %d bytes of mptcp_info, want %d", before.Len, mptcpInfoSize)
	}
	betweenFields(t, "mptcp_info", before, *socks[0].Info, after)

	// The offsets are right if the idle connection's counters agree
	// across the two ends.
	ci := socks[0].Info
	srv, err := server.DumpMPTCP(Request{})
	if err != nil || len(srv) != 1 {
		t.Fatalf("server MPTCP dump: %v, %d sockets", err, len(srv))
	}
	si := srv[0].Info
	if ci.BytesSent < 2<<20 || ci.BytesAcked != ci.BytesSent {
		t.Errorf("client bytes_sent %d bytes_acked %d, want equal and >= 2 MiB", ci.BytesSent, ci.BytesAcked)
	}
	if si.BytesReceived != ci.BytesSent {
		t.Errorf("server bytes_received %d, client bytes_sent %d", si.BytesReceived, ci.BytesSent)
	}
	if ci.SndUna != ci.WriteSeq || si.RcvNxt != ci.WriteSeq {
		t.Errorf("client write_seq %#x snd_una %#x, server rcv_nxt %#x", ci.WriteSeq, ci.SndUna, si.RcvNxt)
	}
	if ci.SubflowsTotal != 2 || ci.Subflows != 1 {
		t.Errorf("subflows %d total %d, want 1 and 2", ci.Subflows, ci.SubflowsTotal)
	}
}

// TestSocketOptions sets a mark, a TOS and a congestion control on one
// socket and finds them in the dump, next to an untouched socket.
func TestSocketOptions(t *testing.T) {
	ns := nstest.NewNS(t, "diagopt")
	client, _ := loopbackPair(t, ns, 7001)
	raw, err := client.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, 0x4242)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, 0x10)
		}
		if serr == nil {
			serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, "reno")
		}
	})
	if err != nil || serr != nil {
		t.Fatalf("set socket options: %v %v", err, serr)
	}

	c := dialNS(t, ns)
	socks, err := c.DumpTCP(Request{Family: unix.AF_INET})
	if err != nil || len(socks) != 2 {
		t.Fatalf("dump: %v, %d sockets, want 2", err, len(socks))
	}
	port := uint16(client.LocalAddr().(*net.TCPAddr).Port)
	for _, s := range socks {
		set := s.ID.Src.Port() == port
		mark, tos, cong := uint32(0), uint8(0), defaultCongestion(t, ns)
		if set {
			mark, tos, cong = 0x4242, 0x10, "reno"
		}
		if s.Mark != mark {
			t.Errorf("socket %s mark %#x, want %#x", s.ID.Src, s.Mark, mark)
		}
		if s.TOS != tos {
			t.Errorf("socket %s TOS %#x, want %#x", s.ID.Src, s.TOS, tos)
		}
		if s.Congestion != cong {
			t.Errorf("socket %s congestion %q, want %q", s.ID.Src, s.Congestion, cong)
		}
		if s.ID.Cookie == 0 {
			t.Errorf("socket %s without cookie", s.ID.Src)
		}
	}
}

func defaultCongestion(t *testing.T, ns *nstest.NS) string {
	t.Helper()
	out := ns.Run(t, "sysctl", "-n", "net.ipv4.tcp_congestion_control")
	return string([]byte(out)[:len(out)-1])
}
