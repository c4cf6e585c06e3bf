package diag

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// The functions below model the kernel's bytecode audit and interpreter
// (inet_diag_bc_audit and inet_diag_bc_run in net/ipv4/inet_diag.c), so
// that the compiler can be fuzzed without a kernel. The live filter tests
// check the real kernel with the same programs.

type bcEntry struct {
	family       uint8
	saddr, daddr []byte // 4 bytes for AF_INET, 16 for AF_INET6
	sport, dport uint16
	ifindex      uint32
}

func bcOp(b []byte) (code, yes uint8, no uint16) {
	return b[0], b[1], ne.Uint16(b[2:])
}

func bcAudit(prog []byte) error {
	l := len(prog)
	b := prog
	for l > 0 {
		if l < 4 {
			return errors.New("operation cut short")
		}
		code, yes, no := bcOp(b)
		minLen, err := bcMinLen(b, l)
		if err != nil {
			return err
		}
		if code != 0 {
			if int(no) < minLen || int(no) > l+4 || no&3 != 0 {
				return fmt.Errorf("invalid no %d at %d", no, len(prog)-l)
			}
			if int(no) < l && !bcValidCC(prog, len(prog), l-int(no)) {
				return fmt.Errorf("no %d at %d lands inside an operation", no, len(prog)-l)
			}
		}
		if int(yes) < minLen || int(yes) > l+4 || yes&3 != 0 {
			return fmt.Errorf("invalid yes %d at %d", yes, len(prog)-l)
		}
		b = b[min(int(yes), len(b)):]
		l -= int(yes)
	}
	if l != 0 {
		return errors.New("program does not end on an operation")
	}
	return nil
}

func bcMinLen(b []byte, l int) (int, error) {
	switch b[0] {
	case bcSCond, bcDCond:
		if l < 12 {
			return 0, errors.New("short host condition")
		}
		alen := map[uint8]int{unix.AF_UNSPEC: 0, unix.AF_INET: 4, unix.AF_INET6: 16}
		n, ok := alen[b[4]]
		if !ok || int(b[5]) > 8*n || l < 12+n {
			return 0, errors.New("invalid host condition")
		}
		return 12 + n, nil
	case bcDevCond, bcSEq, bcDEq, 2, 3, 4, 5:
		if l < 8 {
			return 0, errors.New("short condition")
		}
		return 8, nil
	case 0, bcJmp, 6:
		return 4, nil
	}
	return 0, fmt.Errorf("unknown operation %d", b[0])
}

func bcValidCC(prog []byte, l, cc int) bool {
	b := prog
	for l >= 0 {
		if cc > l {
			return false
		}
		if cc == l {
			return true
		}
		_, yes, _ := bcOp(b)
		if yes < 4 || yes&3 != 0 {
			return false
		}
		l -= int(yes)
		b = b[min(int(yes), len(b)):]
	}
	return false
}

func bcRun(prog []byte, e bcEntry) bool {
	l := len(prog)
	b := prog
	for l > 0 {
		code, yes, no := bcOp(b)
		ok := true
		switch code {
		case bcJmp:
			ok = false
		case bcSEq:
			ok = e.sport == ne.Uint16(b[6:])
		case bcDEq:
			ok = e.dport == ne.Uint16(b[6:])
		case bcSCond, bcDCond:
			ok = bcHostCond(b, e)
		case bcDevCond:
			ok = e.ifindex == ne.Uint32(b[4:])
		}
		step := int(no)
		if ok {
			step = int(yes)
		}
		l -= step
		if l > 0 {
			b = b[step:]
		}
	}
	return l == 0
}

func bcHostCond(b []byte, e bcEntry) bool {
	family, bits := b[4], int(b[5])
	port := int32(ne.Uint32(b[8:]))
	want := b[12:]
	entryPort, addr := e.sport, e.saddr
	if b[0] == bcDCond {
		entryPort, addr = e.dport, e.daddr
	}
	if port != -1 && port != int32(entryPort) {
		return false
	}
	if family != unix.AF_UNSPEC && family != e.family {
		mapped := e.family == unix.AF_INET6 && family == unix.AF_INET &&
			netip.AddrFrom16([16]byte(addr)).Is4In6()
		return mapped && bitsMatch(addr[12:], want, bits)
	}
	return bits == 0 || bitsMatch(addr, want, bits)
}

func bitsMatch(a, b []byte, bits int) bool {
	for i := 0; bits > 0; i++ {
		n := min(bits, 8)
		mask := byte(0xff << (8 - n))
		if a[i]&mask != b[i]&mask {
			return false
		}
		bits -= n
	}
	return true
}

func (e bcEntry) sockID() SockID {
	addr := func(b []byte) netip.Addr {
		if e.family == unix.AF_INET {
			return netip.AddrFrom4([4]byte(b))
		}
		return netip.AddrFrom16([16]byte(b))
	}
	return SockID{
		Src:     netip.AddrPortFrom(addr(e.saddr), e.sport),
		Dst:     netip.AddrPortFrom(addr(e.daddr), e.dport),
		IfIndex: e.ifindex,
	}
}

func TestBytecodeAudit(t *testing.T) {
	p := netip.MustParsePrefix
	for _, r := range []Request{
		{SrcPort: 80},
		{Port: 5201},
		{Port: 5201, SrcPort: 1, DstPort: 2},
		{Src: p("10.0.0.0/8"), Dst: p("fd00::/8")},
		{Src: p("0.0.0.0/0")},
		{Dst: p("::ffff:10.0.0.1/128"), IfIndex: 3, Port: 443},
	} {
		prog := compileBytecode(&r)
		if err := bcAudit(prog); err != nil {
			t.Errorf("program for %+v rejected by the audit model: %v", r, err)
		}
	}
	if prog := compileBytecode(&Request{Token: 1, Cookie: 2}); prog != nil {
		t.Errorf("user-space filters compiled to %x, want no program", prog)
	}
}

func TestBytecodeRun(t *testing.T) {
	v4 := bcEntry{family: unix.AF_INET, saddr: []byte{10, 0, 0, 1}, daddr: []byte{10, 0, 1, 2}, sport: 40000, dport: 5201}
	mapped := bcEntry{family: unix.AF_INET6, sport: 40000, dport: 5201,
		saddr: netip.MustParseAddr("::ffff:10.0.0.1").AsSlice(),
		daddr: netip.MustParseAddr("::ffff:10.0.1.2").AsSlice()}
	p := netip.MustParsePrefix
	for _, tc := range []struct {
		req  Request
		e    bcEntry
		want bool
	}{
		{Request{Port: 5201}, v4, true},
		{Request{Port: 40000}, v4, true},
		{Request{Port: 1}, v4, false},
		{Request{SrcPort: 5201}, v4, false},
		{Request{Src: p("10.0.0.0/24")}, v4, true},
		{Request{Src: p("10.0.0.0/24")}, mapped, true},
		{Request{Dst: p("10.0.0.0/24")}, mapped, false},
		{Request{Src: p("::/0")}, v4, false},
		{Request{Port: 5201, Dst: p("10.0.1.0/24")}, mapped, true},
		{Request{Port: 5201, IfIndex: 2}, v4, false},
	} {
		prog := compileBytecode(&tc.req)
		if got := bcRun(prog, tc.e); got != tc.want {
			t.Errorf("bytecode for %+v on %+v: %v, want %v", tc.req, tc.e.sockID(), got, tc.want)
		}
		if got := tc.req.matchBytecode(tc.e.sockID()); got != tc.want {
			t.Errorf("user-space match for %+v on %+v: %v, want %v", tc.req, tc.e.sockID(), got, tc.want)
		}
	}
}

// FuzzBytecode checks that every compiled program passes the audit model
// and selects exactly the sockets that the user-space match selects.
func FuzzBytecode(f *testing.F) {
	f.Add(uint16(0), uint16(5201), uint16(0), []byte{10, 0, 0, 0}, uint8(8), []byte{}, uint8(0), uint32(0),
		true, []byte{10, 0, 0, 1, 10, 0, 1, 2}, uint16(40000), uint16(5201), uint32(0))
	f.Fuzz(func(t *testing.T, sport, dport, port uint16, src []byte, srcBits uint8, dst []byte, dstBits uint8, ifindex uint32,
		v4 bool, addrs []byte, esport, edport uint16, eifindex uint32) {
		r := Request{SrcPort: sport, DstPort: dport, Port: port, IfIndex: ifindex % 4,
			Src: fuzzPrefix(src, srcBits), Dst: fuzzPrefix(dst, dstBits)}
		e := bcEntry{family: unix.AF_INET6, sport: esport, dport: edport, ifindex: eifindex % 4}
		n := 16
		if v4 {
			e.family, n = unix.AF_INET, 4
		}
		a := make([]byte, 2*n)
		copy(a, addrs)
		e.saddr, e.daddr = a[:n], a[n:]

		prog := compileBytecode(&r)
		if err := bcAudit(prog); err != nil {
			t.Fatalf("program %x for %+v rejected by the audit model: %v", prog, r, err)
		}
		if got, want := bcRun(prog, e), r.matchBytecode(e.sockID()); got != want {
			t.Fatalf("bytecode %x for %+v on %+v: %v, user space %v", prog, r, e.sockID(), got, want)
		}
	})
}

func fuzzPrefix(b []byte, bits uint8) netip.Prefix {
	var a netip.Addr
	switch len(b) {
	case 4:
		a = netip.AddrFrom4([4]byte(b))
	case 16:
		a = netip.AddrFrom16([16]byte(b))
	default:
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, int(bits)%(a.BitLen()+1))
}
