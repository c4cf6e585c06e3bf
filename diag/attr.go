package diag

import (
	"bytes"
	"encoding/binary"
)

// attrIter walks netlink attributes without allocating. A malformed
// attribute ends the walk; err reports it.
type attrIter struct {
	b    []byte
	typ  uint16
	data []byte
	err  bool
}

func (it *attrIter) reset(b []byte) {
	*it = attrIter{b: b}
}

func (it *attrIter) next() bool {
	if len(it.b) < nlaHdrLen {
		it.err = len(it.b) != 0
		return false
	}
	l := int(binary.NativeEndian.Uint16(it.b[0:]))
	if l < nlaHdrLen || l > len(it.b) {
		it.err = true
		return false
	}
	it.typ = binary.NativeEndian.Uint16(it.b[2:]) & nlaTypeMask
	it.data = it.b[nlaHdrLen:l]
	it.b = it.b[min((l+3)&^3, len(it.b)):]
	return true
}

// Fixed-size readers tolerate short input and return zero for it, because
// older kernels may send a shorter attribute.
func u8(b []byte) uint8 {
	if len(b) < 1 {
		return 0
	}
	return b[0]
}

func u16(b []byte) uint16 {
	if len(b) < 2 {
		return 0
	}
	return binary.NativeEndian.Uint16(b)
}

func u32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(b)
}

func u64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.NativeEndian.Uint64(b)
}

// cString returns b up to its first NUL. Names the kernel sends often
// (congestion control and ULP names) come from a table, so that decoding
// them does not allocate.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	switch string(b) {
	case "":
		return ""
	case "cubic":
		return "cubic"
	case "reno":
		return "reno"
	case "bbr":
		return "bbr"
	case "dctcp":
		return "dctcp"
	case "vegas":
		return "vegas"
	case "htcp":
		return "htcp"
	case "mptcp":
		return "mptcp"
	case "tls":
		return "tls"
	}
	return string(b)
}
