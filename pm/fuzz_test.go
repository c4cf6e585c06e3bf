package pm

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// addGoldenSeeds adds the payload after the netlink header of every
// message in a golden file as a seed.
func addGoldenSeeds(f *testing.F, name string) {
	f.Helper()
	recs, err := ReadGolden(filepath.Join("testdata", name))
	if err != nil {
		f.Fatalf("read %s: %v", name, err)
	}
	for _, r := range recs {
		msgs, err := splitMessages(r.Data)
		if err != nil {
			f.Fatalf("%s: %v", r.Label, err)
		}
		for _, m := range msgs {
			f.Add(m.Data)
		}
	}
}

// FuzzDecodeEvent decodes a generic netlink event and checks that
// encoding and decoding it again gives the same Event.
func FuzzDecodeEvent(f *testing.F) {
	addGoldenSeeds(f, "events.hex")
	f.Fuzz(func(t *testing.T, b []byte) {
		var g genetlink.Message
		if g.UnmarshalBinary(b) != nil {
			return
		}
		ev, err := DecodeEvent(g)
		if err != nil {
			return
		}
		_ = ev.String()

		again, err := DecodeEvent(encodeEvent(ev))
		if err != nil {
			t.Fatalf("decode of encoded %v: %v", ev, err)
		}
		if !reflect.DeepEqual(normalize(ev), normalize(again)) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", again, ev)
		}
	})
}

func normalize(e Event) Event {
	if len(e.Unknown) == 0 {
		e.Unknown = nil
	}
	for i := range e.Unknown {
		if len(e.Unknown[i].Data) == 0 {
			e.Unknown[i].Data = nil
		}
		e.Unknown[i].Length = 0
	}
	return e
}

// FuzzDecodeAddrReply decodes a GET_ADDR reply and, for a reply with an
// address, checks the round trip through the request encoder.
func FuzzDecodeAddrReply(f *testing.F) {
	addGoldenSeeds(f, "replies.hex")
	f.Fuzz(func(t *testing.T, b []byte) {
		var g genetlink.Message
		if g.UnmarshalBinary(b) != nil {
			return
		}
		l, err := DecodeAddrReply(g)
		if err != nil || !l.Addr.IsValid() {
			return
		}
		_ = l.String()

		ae := netlink.NewAttributeEncoder()
		encodeAddrNest(ae, attrAddr, l)
		data, err := ae.Encode()
		if err != nil {
			t.Fatalf("encode %v: %v", l, err)
		}
		again, err := DecodeAddrReply(genetlink.Message{Data: data})
		if err != nil {
			t.Fatalf("decode of encoded %v: %v", l, err)
		}
		if again != l {
			t.Fatalf("round trip: got %v, want %v", again, l)
		}
	})
}

// FuzzDecodeLimitsReply decodes a GET_LIMITS reply and checks the round
// trip.
func FuzzDecodeLimitsReply(f *testing.F) {
	addGoldenSeeds(f, "replies.hex")
	f.Fuzz(func(t *testing.T, b []byte) {
		var g genetlink.Message
		if g.UnmarshalBinary(b) != nil {
			return
		}
		l, err := DecodeLimitsReply(g)
		if err != nil {
			return
		}
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(attrRcvAddAddrs, l.AddAddrAccepted)
		ae.Uint32(attrSubflows, l.Subflows)
		data, _ := ae.Encode()
		again, err := DecodeLimitsReply(genetlink.Message{Data: data})
		if err != nil || again != l {
			t.Fatalf("round trip: got %v (%v), want %v", again, err, l)
		}
	})
}

// FuzzParseAck parses NLMSG_ERROR and NLMSG_DONE payloads with any flags
// and names the attributes they point at in a sample request.
func FuzzParseAck(f *testing.F) {
	addGoldenSeeds(f, "replies.hex")
	req, err := subflowCreateRequest(1, Local{ID: 1},
		netipMustParseAddrPort("10.0.0.2:80"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, flags := range []uint16{0, flagAckTLVs,
			flagAckTLVs | flagCapped} {
			for _, done := range []bool{false, true} {
				a, err := parseAck(b, flags, done)
				if err != nil {
					continue
				}
				e := req.error(a)
				_ = e.Error()
			}
		}
	})
}

// FuzzSplitMessages checks that splitting never reads past the input.
func FuzzSplitMessages(f *testing.F) {
	recs, _ := ReadGolden(filepath.Join("testdata", "events.hex"))
	for _, r := range recs {
		f.Add(r.Data)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := splitMessages(b)
		total := 0
		for _, m := range msgs {
			total += nlmsgHeaderLen + len(m.Data)
		}
		if total > len(b) {
			t.Fatalf("messages cover %d bytes of %d", total, len(b))
		}
	})
}
