package pm

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestGoldenReplies decodes the captured replies: GET_ADDR entries,
// GET_LIMITS, acks and errors with extended-ack TLVs.
func TestGoldenReplies(t *testing.T) {
	recs, err := ReadGolden(filepath.Join("testdata", "replies.hex"))
	if err != nil {
		t.Fatalf("read golden replies: %v", err)
	}
	var messages []string
	var addrs []Local
	limits := 0
	for _, r := range recs {
		msgs, err := splitMessages(r.Data)
		if err != nil {
			t.Fatalf("%s: split: %v", r.Label, err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case netlink.Error, netlink.Done:
				a, err := parseAck(m.Data, uint16(m.Header.Flags),
					m.Header.Type == netlink.Done)
				if err != nil {
					t.Errorf("%s: parse ack: %v", r.Label, err)
				}
				if a.errno != 0 {
					messages = append(messages, a.message)
				}
			default:
				var g genetlink.Message
				if err := g.UnmarshalBinary(m.Data); err != nil {
					t.Fatalf("%s: %v", r.Label, err)
				}
				switch g.Header.Command {
				case cmdGetAddr:
					l, err := DecodeAddrReply(g)
					if err != nil {
						t.Errorf("%s: decode address: %v", r.Label, err)
					}
					addrs = append(addrs, l)
				case cmdGetLimits:
					if _, err := DecodeLimitsReply(g); err != nil {
						t.Errorf("%s: decode limits: %v", r.Label, err)
					}
					limits++
				}
			}
		}
	}

	for _, want := range []string{"invalid token", "address not found"} {
		if !slices.Contains(messages, want) {
			t.Errorf("no error %q among %q", want, messages)
		}
	}
	if limits == 0 {
		t.Errorf("no GET_LIMITS reply decoded")
	}
	// The capture added endpoint 4 with port 7300, signal.
	found := slices.ContainsFunc(addrs, func(l Local) bool {
		return l.ID == 4 && l.Port == 7300 && l.Flags == FlagSignal
	})
	if !found {
		t.Errorf("no endpoint id 4 port 7300 signal among %v", addrs)
	}
}

// ackMessage builds an NLMSG_ERROR payload: errno, the echoed header of
// an echoedLen-byte request, its body when not capped, and TLVs.
func ackMessage(errno int32, echoedLen int, capped bool,
	tlvs []netlink.Attribute) []byte {
	ne := nativeEndian()
	b := ne.AppendUint32(nil, uint32(errno))
	b = ne.AppendUint32(b, uint32(echoedLen))
	b = append(b, make([]byte, nlmsgHeaderLen-4)...)
	if !capped {
		b = append(b, make([]byte, align4(echoedLen)-nlmsgHeaderLen)...)
	}
	t, _ := netlink.MarshalAttributes(tlvs)
	return append(b, t...)
}

func TestParseAck(t *testing.T) {
	ne := nativeEndian()
	u32 := func(v uint32) []byte { return ne.AppendUint32(nil, v) }
	tlvs := []netlink.Attribute{
		{Type: extAckMsg, Data: []byte("invalid token\x00")},
		{Type: extAckOffs, Data: u32(44)},
		{Type: extAckMissType, Data: u32(6)},
	}
	for _, capped := range []bool{false, true} {
		flags := uint16(flagAckTLVs)
		if capped {
			flags |= flagCapped
		}
		a, err := parseAck(ackMessage(-int32(unix.EINVAL), 50, capped, tlvs), flags, false)
		if err != nil {
			t.Fatalf("capped=%v: %v", capped, err)
		}
		want := ackInfo{errno: unix.EINVAL, message: "invalid token",
			offset: 44, missingAttr: 6}
		if a != want {
			t.Errorf("capped=%v: got %+v, want %+v", capped, a, want)
		}
	}

	a, err := parseAck(nil, 0, true)
	if err != nil || a.errno != 0 {
		t.Errorf("empty NLMSG_DONE: %+v, %v", a, err)
	}
	if _, err := parseAck([]byte{1, 2}, 0, false); err == nil {
		t.Errorf("2-byte NLMSG_ERROR parsed without error")
	}
}

func TestAttrAt(t *testing.T) {
	r, err := subflowCreateRequest(7, Local{ID: 1},
		netipMustParseAddrPort("10.0.0.2:80"))
	if err != nil {
		t.Fatal(err)
	}
	// Walk the request to find the offsets the kernel would report.
	var offsets []uint32
	var names []string
	pos := uint32(reqAttrsOffset)
	_ = walkAttrs(r.attrs, func(typ uint16, data []byte) error {
		offsets = append(offsets, pos)
		names = append(names, attrName(topAttrNames, typ))
		pos += uint32(align4(nlaHeaderLen + len(data)))
		return nil
	})
	for i, off := range offsets {
		if got := attrAt(r.attrs, off); got != names[i] {
			t.Errorf("attrAt(%d) = %q, want %q", off, got, names[i])
		}
	}
	// The first attribute inside ADDR_REMOTE (the second nest).
	if got := attrAt(r.attrs, offsets[1]+nlaHeaderLen); got != "ADDR_REMOTE.ID" {
		t.Errorf("attrAt inside ADDR_REMOTE = %q, want ADDR_REMOTE.ID", got)
	}
	if got := attrAt(r.attrs, 3); got != "" {
		t.Errorf("attrAt(3) = %q, want empty", got)
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  Error
		want string
	}{
		{Error{Op: "subflow create", Request: "token 00000007", Errno: unix.EINVAL,
			Message: "invalid token", Attr: "TOKEN"},
			"subflow create token 00000007: invalid token (kernel: invalid token at TOKEN, errno EINVAL); " +
				"no MPTCP connection has this token in this network namespace; use the token of a CREATED event"},
		{Error{Op: "subflow create", Errno: unix.EINVAL, MissingAttr: 6, MissingName: "ADDR_REMOTE"},
			"subflow create: missing attribute ADDR_REMOTE (errno EINVAL)"},
		{Error{Op: "announce", Errno: unix.EPERM},
			"announce: operation not permitted (errno EPERM); needs CAP_NET_ADMIN in the network namespace"},
		{Error{Op: "remove", Errno: unix.ERANGE, Message: "Attribute failed policy validation",
			Attr: "TOKEN", Policy: "u32"},
			"remove: Attribute failed policy validation (kernel: Attribute failed policy validation at TOKEN, expected u32, errno ERANGE)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestAddrFlagsString(t *testing.T) {
	for f, want := range map[AddrFlags]string{
		0:                           "0",
		FlagSignal:                  "signal",
		FlagSubflow | FlagBackup:    "subflow|backup",
		FlagFullmesh | FlagLaminar:  "fullmesh|laminar",
		FlagImplicit | 0x40 | 0x100: "implicit|0x140",
	} {
		if got := f.String(); got != want {
			t.Errorf("AddrFlags(%#x).String() = %q, want %q", uint32(f), got, want)
		}
	}
}

func TestEventTypeString(t *testing.T) {
	for typ, want := range map[EventType]string{
		EventCreated: "created", EventSubEstablished: "sf_established",
		EventSubPriority: "sf_prio", EventListenerClosed: "listener_closed",
		4: "unknown(4)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("EventType(%d).String() = %q, want %q", typ, got, want)
		}
	}
}

// TestDecodeEventBothFamilies checks that FAMILY picks the address when
// an event carries an IPv4 and an IPv6 source, and that the other one is
// kept in Unknown.
func TestDecodeEventBothFamilies(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(evAttrFamily, unix.AF_INET6)
	ae.Bytes(evAttrSaddr4, []byte{10, 0, 0, 1})
	ae.Bytes(evAttrSaddr6, netipMustParseAddrPort("[fd00::1]:1").Addr().AsSlice())
	ae.Bytes(evAttrSport, []byte{0x1b, 0xbc}) // 7100, big-endian
	ae.Bytes(99, []byte{1, 2, 3})
	b, _ := ae.Encode()

	ev, err := DecodeEvent(genetlink.Message{
		Header: genetlink.Header{Command: uint8(EventListenerCreated)}, Data: b})
	if err != nil {
		t.Fatal(err)
	}
	if want := netipMustParseAddrPort("[fd00::1]:7100"); ev.Local != want {
		t.Errorf("local = %s, want %s", ev.Local, want)
	}
	if ev.Has(AttrSaddr4) || !ev.Has(AttrSaddr6) {
		t.Errorf("present = %#x, want SADDR6 without SADDR4", ev.Present)
	}
	if len(ev.Unknown) != 2 || ev.Unknown[0].Type != 99 || ev.Unknown[1].Type != evAttrSaddr4 {
		t.Errorf("unknown = %v, want attribute 99 then SADDR4", ev.Unknown)
	}
}

func TestDecodeEventShortAttr(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(evAttrToken, []byte{1, 2})
	b, _ := ae.Encode()
	_, err := DecodeEvent(genetlink.Message{
		Header: genetlink.Header{Command: uint8(EventClosed)}, Data: b})
	if err == nil || err.Error() != "decode closed event: attribute TOKEN has 2 bytes, want at least 4" {
		t.Errorf("error = %v", err)
	}
}
