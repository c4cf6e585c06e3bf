package pm

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// Extended-ack attributes of NLMSG_ERROR and NLMSG_DONE
// (NLMSGERR_ATTR_*) and the header flags that announce them.
const (
	extAckMsg      = 1 // string
	extAckOffs     = 2 // u32 offset of the rejected attribute
	extAckPolicy   = 4 // nested policy description
	extAckMissType = 5 // u32 type of the missing attribute
	extAckMissNest = 6 // u32 offset of the nest that lacks it

	flagCapped  = 0x100 // NLM_F_CAPPED: request not echoed past its header
	flagAckTLVs = 0x200 // NLM_F_ACK_TLVS: TLVs follow

	policyTypeAttr = 1 // NL_POLICY_TYPE_ATTR_TYPE
)

// ackInfo is the content of an NLMSG_ERROR or NLMSG_DONE payload.
type ackInfo struct {
	errno       unix.Errno
	message     string
	offset      uint32
	missingAttr uint16
	missingNest uint32
	policy      string
}

// parseAck decodes the payload of an NLMSG_ERROR (done false) or an
// NLMSG_DONE (done true) message: a negative errno, for NLMSG_ERROR the
// echoed request header, then extended-ack TLVs when flags has
// NLM_F_ACK_TLVS.
func parseAck(data []byte, flags uint16, done bool) (ackInfo, error) {
	var a ackInfo
	if len(data) < 4 {
		if done {
			return a, nil // NLMSG_DONE without payload: success
		}
		return a, fmt.Errorf("netlink error message has %d bytes, "+
			"want at least 4", len(data))
	}
	code := int32(binary.NativeEndian.Uint32(data))
	if code < 0 {
		a.errno = unix.Errno(-code)
	} else {
		a.errno = unix.Errno(code)
	}
	if flags&flagAckTLVs == 0 {
		return a, nil
	}

	off := 4
	if !done {
		if len(data) < 4+nlmsgHeaderLen {
			return a, fmt.Errorf("netlink error message has %d bytes, "+
				"too short for the echoed header", len(data))
		}
		off += nlmsgHeaderLen
		if flags&flagCapped == 0 {
			echoed := int(binary.NativeEndian.Uint32(data[4:8]))
			off = 4 + align4(echoed)
		}
	}
	if off > len(data) {
		return a, fmt.Errorf("netlink error message has %d bytes, "+
			"TLVs would start at %d", len(data), off)
	}
	return a, walkAttrs(data[off:], a.setTLV)
}

func (a *ackInfo) setTLV(typ uint16, data []byte) error {
	var err error
	switch typ {
	case extAckMsg:
		a.message = cString(data)
	case extAckOffs:
		a.offset, err = getU32("NLMSGERR_ATTR_OFFS", data)
	case extAckMissType:
		var v uint32
		v, err = getU32("NLMSGERR_ATTR_MISS_TYPE", data)
		a.missingAttr = uint16(v)
	case extAckMissNest:
		a.missingNest, err = getU32("NLMSGERR_ATTR_MISS_NEST", data)
	case extAckPolicy:
		err = walkAttrs(data, func(t uint16, d []byte) error {
			if t != policyTypeAttr {
				return nil
			}
			v, err := getU32("NL_POLICY_TYPE_ATTR_TYPE", d)
			a.policy = policyTypeName(v)
			return err
		})
	}
	return err
}

// cString returns b up to its first NUL byte.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// policyTypeName names enum netlink_attribute_type values.
func policyTypeName(v uint32) string {
	names := []string{"invalid", "flag", "u8", "u16", "u32", "u64",
		"s8", "s16", "s32", "s64", "binary", "string", "nul-string",
		"nested", "nested-array", "bitfield32", "sint", "uint"}
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("type %d", v)
}

var topAttrNames = map[uint16]string{
	attrAddr: "ADDR", attrRcvAddAddrs: "RCV_ADD_ADDRS",
	attrSubflows: "SUBFLOWS", attrToken: "TOKEN", attrLocID: "LOC_ID",
	attrAddrRemote: "ADDR_REMOTE",
}

var addrAttrNames = map[uint16]string{
	addrAttrFamily: "FAMILY", addrAttrID: "ID", addrAttrAddr4: "ADDR4",
	addrAttrAddr6: "ADDR6", addrAttrPort: "PORT", addrAttrFlags: "FLAGS",
	addrAttrIfIdx: "IF_IDX",
}

func attrName(names map[uint16]string, typ uint16) string {
	if n, ok := names[typ]; ok {
		return n
	}
	return fmt.Sprintf("attribute %d", typ)
}

// reqAttrsOffset is the offset of the first attribute of a request,
// counted like the kernel's extended-ack offsets: from the netlink
// header, past the 4-byte generic netlink header.
const reqAttrsOffset = nlmsgHeaderLen + 4

// attrAt names the attribute of the request attributes attrs that starts
// at, or contains, the extended-ack offset off. A nested attribute is
// named "NEST.INNER", such as "ADDR.FAMILY".
func attrAt(attrs []byte, off uint32) string {
	if off < reqAttrsOffset {
		return ""
	}
	return attrAtRel(attrs, int(off)-reqAttrsOffset, true)
}

func attrAtRel(attrs []byte, rel int, top bool) string {
	names := addrAttrNames
	if top {
		names = topAttrNames
	}
	var name string
	pos := 0
	_ = walkAttrs(attrs, func(typ uint16, data []byte) error {
		start, end := pos, pos+nlaHeaderLen+len(data)
		pos = align4(end)
		if rel < start || rel >= end {
			return nil
		}
		name = attrName(names, typ)
		inside := rel - start - nlaHeaderLen
		if top && isAddrNest(typ) && inside >= 0 {
			if inner := attrAtRel(data, inside, false); inner != "" {
				name += "." + inner
			}
		}
		return nil
	})
	return name
}

// isAddrNest reports whether a top-level type is an address nest.
func isAddrNest(typ uint16) bool {
	return typ == attrAddr || typ == attrAddrRemote
}

// missingName names a missing attribute: a top-level one, or one inside
// the nest at offset nest.
func missingName(attrs []byte, typ uint16, nest uint32) string {
	if nest == 0 {
		return attrName(topAttrNames, typ)
	}
	outer := attrAt(attrs, nest)
	if outer == "" {
		return attrName(addrAttrNames, typ)
	}
	return outer + "." + attrName(addrAttrNames, typ)
}
