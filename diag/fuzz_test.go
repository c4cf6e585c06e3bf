package diag

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addCaptureSeeds adds every message payload of the testdata captures.
func addCaptureSeeds(f *testing.F, protocol uint16) {
	files, _ := filepath.Glob("testdata/*.nl")
	for _, name := range files {
		if goldenProtocol(name) != protocol {
			continue
		}
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var it msgIter
		it.reset(raw)
		for it.next() {
			f.Add(it.payload)
		}
	}
}

// FuzzDecodeTCP decodes arbitrary TCP reply payloads: no panic, and what
// decodes must survive an encode and decode round trip unchanged.
func FuzzDecodeTCP(f *testing.F) {
	addCaptureSeeds(f, ipprotoTCP)
	f.Fuzz(func(t *testing.T, p []byte) {
		var d1, d2 tcpDecoder
		s1, err := d1.decode(p)
		if err != nil {
			return
		}
		b := encodeTCPSocket(s1)
		s2, err := d2.decode(b)
		if err != nil {
			t.Fatalf("re-encoded socket does not decode: %v", err)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("round trip changed the socket:\n%+v\n%+v", *s1, *s2)
		}
	})
}

// FuzzDecodeMPTCP is FuzzDecodeTCP for MPTCP replies.
func FuzzDecodeMPTCP(f *testing.F) {
	addCaptureSeeds(f, ipprotoMPTCP)
	f.Fuzz(func(t *testing.T, p []byte) {
		var d1, d2 mptcpDecoder
		s1, err := d1.decode(p)
		if err != nil {
			return
		}
		s2, err := d2.decode(encodeMPTCPSocket(s1))
		if err != nil {
			t.Fatalf("re-encoded socket does not decode: %v", err)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("round trip changed the socket:\n%+v\n%+v", *s1, *s2)
		}
	})
}

// FuzzDecodeStream feeds whole datagrams (netlink headers included) to
// the message walker and both decoders, the path every reply takes.
func FuzzDecodeStream(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.nl")
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, proto := range []uint16{ipprotoTCP, ipprotoMPTCP} {
			_, _ = decodeCapture(b, proto)
		}
		c := &Conn{seq: 1}
		r := &request{op: "fuzz", dump: true}
		_, _ = c.walkDatagram(r, b, func([]byte) {})
	})
}
