package diag

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func sampleTCPSocket() *TCPSocket {
	info := &TCPInfo{Len: tcpInfoSize, State: 1, SndWScale: 10, RcvWScale: 7,
		DeliveryRateAppLimited: true, FastOpenClientFail: 2, RTO: 204000,
		RTT: 55, RTTVar: 92, SndCwnd: 260, TotalRetrans: 4, PacingRate: 1e10,
		BytesAcked: 406265, MinRTT: 5, DeliveryRate: 160888888, BytesSent: 406264,
		TotalRTO: 1, TotalRTOTime: 9, ReceivedCE: 3, AccECNOptSeen: 2}
	return &TCPSocket{
		Socket: Socket{Family: unix.AF_INET, State: StateEstablished,
			ID: SockID{Src: netip.MustParseAddrPort("10.200.1.1:52665"),
				Dst: netip.MustParseAddrPort("10.200.0.2:5201"), IfIndex: 3, Cookie: 1<<32 | 7},
			Timer: 2, Expires: 14792, UID: 1000, Inode: 65587, Mark: 0x42, CgroupID: 1, SockOpt: 82},
		Info:       info,
		Congestion: "bbr",
		BBR:        &BBRInfo{BW: 1<<33 + 5, MinRTT: 4, PacingGain: 320, CwndGain: 512},
		Vegas:      &VegasInfo{Enabled: 1, RTTCount: 2, RTT: 3, MinRTT: 4},
		DCTCP:      &DCTCPInfo{Enabled: 1, CEState: 1, Alpha: 1024, AbECN: 5, AbTot: 6},
		Mem:        &MemInfo{RcvBuf: 131072, SndBuf: 2875392, Drops: 1},
		ULP:        "mptcp",
		Subflow: &SubflowInfo{LocalToken: 0x145c5c70, RemoteToken: 0x37f2d6a6, LocalID: 1,
			Flags: 0xcc, HasMapping: true, MapSeq: 0xbc0c10384dea9fa9, SSNOffset: 0x36f52000},
	}
}

func TestDecodeTCPRoundTrip(t *testing.T) {
	want := sampleTCPSocket()
	var d tcpDecoder
	got, err := d.decode(encodeTCPSocket(want))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("decoded socket differs:\ngot  %s\nwant %s", g, w)
	}
}

func TestDecodeMPTCPRoundTrip(t *testing.T) {
	want := &MPTCPSocket{
		Socket: Socket{Family: unix.AF_INET6, State: StateEstablished,
			ID: SockID{Src: netip.MustParseAddrPort("[fd00:200::1]:43372"),
				Dst: netip.MustParseAddrPort("[fd00:200::2]:5201"), Cookie: 99}},
		Info: &MPTCPInfo{Len: mptcpInfoSize, Subflows: 1, SubflowsMax: 8, Flags: 2,
			Token: 0x6ae423f2, WriteSeq: 1 << 60, SubflowsTotal: 2, BytesSent: 1 << 40,
			EndpointLaminarMax: 3, LastAckRecv: 12},
		Mem: &MemInfo{RcvBuf: 1},
	}
	var d mptcpDecoder
	got, err := d.decode(encodeMPTCPSocket(want))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded socket differs:\ngot  %+v\nwant %+v", got, want)
	}
}

// TestTCPInfoShort decodes tcp_info as older kernels send it: Linux 6.17
// ends after tcpi_total_rto_time (248 bytes), Linux 4.1 after
// tcpi_bytes_received (136 bytes).
func TestTCPInfoShort(t *testing.T) {
	full := encodeTCPInfo(sampleTCPSocket().Info)
	for _, tc := range []struct {
		n           int
		present     func(*TCPInfo) uint64 // a field inside n bytes
		absent      func(*TCPInfo) uint64 // first field past n bytes
		wantPresent uint64
	}{
		{248, func(i *TCPInfo) uint64 { return uint64(i.TotalRTOTime) },
			func(i *TCPInfo) uint64 { return uint64(i.ReceivedCE) }, 9},
		{136, func(i *TCPInfo) uint64 { return i.BytesAcked },
			func(i *TCPInfo) uint64 { return uint64(i.MinRTT) }, 406265},
		{104, func(i *TCPInfo) uint64 { return uint64(i.TotalRetrans) },
			func(i *TCPInfo) uint64 { return i.PacingRate }, 4},
		{8, func(i *TCPInfo) uint64 { return uint64(i.SndWScale) },
			func(i *TCPInfo) uint64 { return uint64(i.RTO) }, 10},
	} {
		var got TCPInfo
		decodeTCPInfo(&got, full[:tc.n])
		if got.Len != tc.n {
			t.Errorf("%d bytes: Len %d", tc.n, got.Len)
		}
		if v := tc.present(&got); v != tc.wantPresent {
			t.Errorf("%d bytes: field inside %d, want %d", tc.n, v, tc.wantPresent)
		}
		if v := tc.absent(&got); v != 0 {
			t.Errorf("%d bytes: field past the end is %d, want 0", tc.n, v)
		}
	}
	var got TCPInfo
	decodeTCPInfo(&got, make([]byte, 300))
	if got.Len != tcpInfoSize {
		t.Errorf("300 bytes: Len %d, want %d", got.Len, tcpInfoSize)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := encodeTCPSocket(sampleTCPSocket())
	cases := map[string][]byte{
		"short header":       good[:msgSize-1],
		"attribute too long": append(append([]byte{}, good[:msgSize]...), 0xff, 0x00, 2, 0),
		"attribute cut":      append(append([]byte{}, good[:msgSize]...), 8, 0, 2),
		"ulp nest bad":       append(append([]byte{}, good[:msgSize]...), 12, 0, attrULPInfo, 0, 8, 0, ulpInfoMPTCP, 0, 9, 0, 1, 0),
	}
	for name, p := range cases {
		var d tcpDecoder
		if _, err := d.decode(p); !errors.Is(err, ErrTruncated) {
			t.Errorf("%s: error %v, want ErrTruncated", name, err)
		}
	}
}

// TestSubflowNestedFlag checks that the MPTCP nest decodes with and
// without NLA_F_NESTED; Linux 6.18 sends it without.
func TestSubflowNestedFlag(t *testing.T) {
	nest := appendAttrU32(nil, subflowTokenLoc, 0x145c5c70)
	nest = appendAttr(nest, subflowIDLoc, []byte{3})
	for _, flag := range []uint16{0, unix.NLA_F_NESTED} {
		ulp := appendAttr(nil, ulpInfoName, []byte("mptcp\x00"))
		ulp = appendAttr(ulp, ulpInfoMPTCP|flag, nest)
		p := appendAttr(encodeHeader(&Socket{Family: unix.AF_INET}), attrULPInfo|flag, ulp)

		var d tcpDecoder
		s, err := d.decode(p)
		if err != nil {
			t.Fatalf("flag %#x: %v", flag, err)
		}
		if s.ULP != "mptcp" || s.Subflow == nil || s.Subflow.LocalToken != 0x145c5c70 || s.Subflow.LocalID != 3 {
			t.Errorf("flag %#x: ULP %q subflow %+v", flag, s.ULP, s.Subflow)
		}
	}
}

func TestAckError(t *testing.T) {
	req := make([]byte, nlmsgHdrLen+reqSize)
	ne.PutUint32(req, uint32(len(req)))
	ext := appendAttr(nil, unix.NLMSGERR_ATTR_MSG, []byte("bad filter\x00"))
	ext = appendAttrU32(ext, unix.NLMSGERR_ATTR_OFFS, 76)

	code := -int32(unix.EINVAL)
	errno := ne.AppendUint32(nil, uint32(code))
	capped := append(append(append([]byte{}, errno...), req[:nlmsgHdrLen]...), ext...)
	full := append(append(append([]byte{}, errno...), req...), ext...)
	for name, tc := range map[string]struct {
		flags uint16
		p     []byte
	}{
		"capped": {unix.NLM_F_CAPPED | unix.NLM_F_ACK_TLVS, capped},
		"full":   {unix.NLM_F_ACK_TLVS, full},
	} {
		err := ackError("dump", tc.flags, tc.p)
		var oe *OpError
		if !errors.As(err, &oe) {
			t.Fatalf("%s: error %v is not an *OpError", name, err)
		}
		if oe.Errno != unix.EINVAL || oe.Message != "bad filter" || oe.Offset != 76 {
			t.Errorf("%s: got %+v, want EINVAL, \"bad filter\", offset 76", name, oe)
		}
	}
	if err := ackError("dump", 0, ne.AppendUint32(nil, 0)); err != nil {
		t.Errorf("ack with errno 0: %v, want nil", err)
	}
	if err := ackError("dump", 0, []byte{1}); !errors.Is(err, ErrTruncated) {
		t.Errorf("short error message: %v, want ErrTruncated", err)
	}
}

func TestOpErrorNotFound(t *testing.T) {
	for _, e := range []unix.Errno{unix.ENOENT, unix.ESTALE} {
		if err := error(&OpError{Op: "x", Errno: e}); !errors.Is(err, ErrNotFound) || !errors.Is(err, e) {
			t.Errorf("errno %v: errors.Is ErrNotFound %v, errno %v", e, errors.Is(err, ErrNotFound), errors.Is(err, e))
		}
	}
	if errors.Is(&OpError{Errno: unix.EINVAL}, ErrNotFound) {
		t.Error("EINVAL matches ErrNotFound")
	}
}

func TestRequestEncoding(t *testing.T) {
	c := &Conn{seq: 7}
	r := &request{family: unix.AF_INET6, protocol: ipprotoMPTCP, ext: mptcpExt,
		states: ConnectedStates, bytecode: compileBytecode(&Request{SrcPort: 80}), dump: true}
	b := c.encode(r)

	if got := ne.Uint32(b); int(got) != len(b) {
		t.Errorf("nlmsg_len %d, message %d bytes", got, len(b))
	}
	if got := ne.Uint16(b[6:]); got != unix.NLM_F_REQUEST|unix.NLM_F_DUMP {
		t.Errorf("flags %#x, want REQUEST|DUMP", got)
	}
	body := b[nlmsgHdrLen:]
	if body[0] != unix.AF_INET6 || body[1] != ipprotoTCP {
		t.Errorf("family %d protocol %d, want 10 and 6 (MPTCP goes in an attribute)", body[0], body[1])
	}
	if body[2] != 1<<(attrInfo-1)|1<<(attrSkMemInfo-1) {
		t.Errorf("ext %#x, want INFO and SKMEMINFO bits", body[2])
	}
	if got := ne.Uint32(body[4:]); got&(1<<StateListen|1<<StateTimeWait) != 0 || got&(1<<StateEstablished) == 0 {
		t.Errorf("states %#x, want ESTABLISHED without LISTEN and TIME-WAIT", got)
	}
	if lo, hi := ne.Uint32(body[8+sidCookieLo:]), ne.Uint32(body[8+sidCookieHi:]); lo != noCookie || hi != noCookie {
		t.Errorf("cookie %#x %#x, want INET_DIAG_NOCOOKIE", lo, hi)
	}
	var it attrIter
	it.reset(body[reqSize:])
	var attrs []uint16
	for it.next() {
		attrs = append(attrs, it.typ)
		if it.typ == reqProtocol && u32(it.data) != ipprotoMPTCP {
			t.Errorf("INET_DIAG_REQ_PROTOCOL %d, want 262", u32(it.data))
		}
	}
	if !reflect.DeepEqual(attrs, []uint16{reqProtocol, reqBytecode}) {
		t.Errorf("request attributes %v, want [3 1]", attrs)
	}
}

func TestStates(t *testing.T) {
	for _, tc := range []struct {
		name string
		want State
	}{
		{"established", StateEstablished}, {"ESTAB", StateEstablished},
		{"time_wait", StateTimeWait}, {"time-wait", StateTimeWait},
		{"listen", StateListen}, {"syn-recv", StateSynRecv},
	} {
		got, err := ParseState(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("ParseState(%q) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := ParseState("open"); err == nil {
		t.Error(`ParseState("open") succeeded`)
	}
	for s := State(0); s < 20; s++ {
		var back State
		text, _ := s.MarshalText()
		if err := back.UnmarshalText(text); err != nil || back != s {
			t.Errorf("state %d: text %q parsed as %v, %v", s, text, back, err)
		}
	}
	if got := States(StateEstablished, StateListen); got != 1<<1|1<<10 {
		t.Errorf("States(ESTABLISHED, LISTEN) = %#x, want 0x402", got)
	}
}
