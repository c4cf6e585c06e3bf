package pm

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const (
	nlaHeaderLen = 4
	// nlaTypeMask drops NLA_F_NESTED and NLA_F_NET_BYTEORDER from an
	// attribute type. The kernel does not always set NLA_F_NESTED on
	// nests, so decoders must not require it.
	nlaTypeMask = 0x3fff
)

// walkAttrs calls fn for each netlink attribute in b, with the type
// flags removed. It stops at the first malformed header, because the
// rest of the buffer cannot be located after it.
func walkAttrs(b []byte, fn func(typ uint16, data []byte) error) error {
	for len(b) > 0 {
		if len(b) < nlaHeaderLen {
			return fmt.Errorf("truncated attribute header: %d bytes", len(b))
		}
		length := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask
		if length < nlaHeaderLen || length > len(b) {
			return fmt.Errorf("attribute %d has invalid length %d "+
				"in %d bytes", typ, length, len(b))
		}
		if err := fn(typ, b[nlaHeaderLen:length]); err != nil {
			return err
		}
		next := align4(length)
		if next >= len(b) {
			return nil
		}
		b = b[next:]
	}
	return nil
}

// attrLenError reports a known attribute that is shorter than its type.
type attrLenError struct {
	Name      string
	Got, Want int
}

func (e *attrLenError) Error() string {
	return fmt.Sprintf("attribute %s has %d bytes, want at least %d",
		e.Name, e.Got, e.Want)
}

// Fixed-size readers. The kernel accepts and may send longer attributes
// than the type needs, so only a short attribute is an error.

func getU8(name string, b []byte) (uint8, error) {
	if len(b) < 1 {
		return 0, &attrLenError{name, len(b), 1}
	}
	return b[0], nil
}

func getU16(name string, b []byte) (uint16, error) {
	if len(b) < 2 {
		return 0, &attrLenError{name, len(b), 2}
	}
	return binary.NativeEndian.Uint16(b), nil
}

func getBE16(name string, b []byte) (uint16, error) {
	if len(b) < 2 {
		return 0, &attrLenError{name, len(b), 2}
	}
	return binary.BigEndian.Uint16(b), nil
}

func getU32(name string, b []byte) (uint32, error) {
	if len(b) < 4 {
		return 0, &attrLenError{name, len(b), 4}
	}
	return binary.NativeEndian.Uint32(b), nil
}

func getAddr4(name string, b []byte) (netip.Addr, error) {
	if len(b) < 4 {
		return netip.Addr{}, &attrLenError{name, len(b), 4}
	}
	return netip.AddrFrom4([4]byte(b[:4])), nil
}

func getAddr6(name string, b []byte) (netip.Addr, error) {
	if len(b) < 16 {
		return netip.Addr{}, &attrLenError{name, len(b), 16}
	}
	return netip.AddrFrom16([16]byte(b[:16])), nil
}

// encodeAddrNest writes an address nest of type typ. The family follows
// the form of a.Addr: an IPv4-mapped IPv6 address stays AF_INET6, which
// is what a dual-stack subflow socket needs. An invalid Addr sends no
// family and no address, e.g. for a lookup by id. The port is sent in
// host byte order, unlike the ports in events.
func encodeAddrNest(ae *netlink.AttributeEncoder, typ uint16, a Local) {
	ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
		nae.Uint8(addrAttrID, a.ID)
		nae.Uint32(addrAttrFlags, uint32(a.Flags))
		if a.IfIndex != 0 {
			nae.Int32(addrAttrIfIdx, a.IfIndex)
		}
		if a.Port != 0 {
			nae.Uint16(addrAttrPort, a.Port)
		}
		switch {
		case a.Addr.Is4():
			nae.Uint16(addrAttrFamily, unix.AF_INET)
			b := a.Addr.As4()
			nae.Bytes(addrAttrAddr4, b[:])
		case a.Addr.Is6():
			nae.Uint16(addrAttrFamily, unix.AF_INET6)
			b := a.Addr.As16()
			nae.Bytes(addrAttrAddr6, b[:])
		}
		return nil
	})
}

// decodeAddrNest decodes an address nest of a GET_ADDR reply. Unknown
// attributes are skipped. The address attribute that does not match
// FAMILY is ignored, as the kernel does.
func decodeAddrNest(b []byte) (Local, error) {
	var l Local
	var family uint16
	var a4, a6 netip.Addr
	err := walkAttrs(b, func(typ uint16, data []byte) error {
		var err error
		switch typ {
		case addrAttrFamily:
			family, err = getU16("ADDR.FAMILY", data)
		case addrAttrID:
			l.ID, err = getU8("ADDR.ID", data)
		case addrAttrAddr4:
			a4, err = getAddr4("ADDR.ADDR4", data)
		case addrAttrAddr6:
			a6, err = getAddr6("ADDR.ADDR6", data)
		case addrAttrPort:
			l.Port, err = getU16("ADDR.PORT", data)
		case addrAttrFlags:
			var f uint32
			f, err = getU32("ADDR.FLAGS", data)
			l.Flags = AddrFlags(f)
		case addrAttrIfIdx:
			var v uint32
			v, err = getU32("ADDR.IF_IDX", data)
			l.IfIndex = int32(v)
		}
		return err
	})
	if err != nil {
		return l, err
	}

	switch family {
	case unix.AF_INET:
		l.Addr = a4
	case unix.AF_INET6:
		l.Addr = a6
	default:
		return l, fmt.Errorf("address nest has unknown family %d", family)
	}
	return l, nil
}
