package pm

import (
	"encoding/binary"
	"net/netip"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

var eventAttrNames = [...]string{
	evAttrToken: "TOKEN", evAttrFamily: "FAMILY", evAttrLocID: "LOC_ID",
	evAttrRemID: "REM_ID", evAttrSaddr4: "SADDR4", evAttrSaddr6: "SADDR6",
	evAttrDaddr4: "DADDR4", evAttrDaddr6: "DADDR6", evAttrSport: "SPORT",
	evAttrDport: "DPORT", evAttrBackup: "BACKUP", evAttrError: "ERROR",
	evAttrFlags: "FLAGS", evAttrTimeout: "TIMEOUT", evAttrIfIdx: "IF_IDX",
	evAttrResetReason: "RESET_REASON", evAttrResetFlags: "RESET_FLAGS",
	evAttrServerSide: "SERVER_SIDE",
}

// eventDecoder collects the address attributes of an event, which are
// combined once all attributes are read.
type eventDecoder struct {
	saddr4, saddr6, daddr4, daddr6 []byte
	sport, dport                   uint16
}

func (d *eventDecoder) attr(e *Event, typ uint16, data []byte) error {
	if typ == 0 || typ > evAttrMax {
		e.Unknown = append(e.Unknown, netlink.Attribute{
			Type: typ, Data: append([]byte(nil), data...),
		})
		return nil
	}
	name := eventAttrNames[typ]
	e.Present |= 1 << typ

	var err error
	switch typ {
	case evAttrSaddr4, evAttrDaddr4, evAttrSaddr6, evAttrDaddr6:
		err = d.addr(typ, name, data)
	case evAttrSport:
		d.sport, err = getBE16(name, data)
	case evAttrDport:
		d.dport, err = getBE16(name, data)
	default:
		err = setScalar(e, typ, name, data)
	}
	return err
}

func (d *eventDecoder) addr(typ uint16, name string, data []byte) error {
	want := 4
	if typ == evAttrSaddr6 || typ == evAttrDaddr6 {
		want = 16
	}
	if len(data) < want {
		return &attrLenError{name, len(data), want}
	}
	data = data[:want:want]
	switch typ {
	case evAttrSaddr4:
		d.saddr4 = data
	case evAttrSaddr6:
		d.saddr6 = data
	case evAttrDaddr4:
		d.daddr4 = data
	case evAttrDaddr6:
		d.daddr6 = data
	}
	return nil
}

// setScalar decodes the one-number attributes.
func setScalar(e *Event, typ uint16, name string, data []byte) error {
	var u8 uint8
	var u16 uint16
	var u32 uint32
	var err error
	switch typ {
	case evAttrLocID, evAttrRemID, evAttrBackup, evAttrError,
		evAttrServerSide:
		u8, err = getU8(name, data)
	case evAttrFamily, evAttrFlags:
		u16, err = getU16(name, data)
	default:
		u32, err = getU32(name, data)
	}

	switch typ {
	case evAttrToken:
		e.Token = u32
	case evAttrFamily:
		e.Family = u16
	case evAttrLocID:
		e.LocalID = u8
	case evAttrRemID:
		e.RemoteID = u8
	case evAttrBackup:
		e.Backup = u8 != 0
	case evAttrError:
		e.Error = u8
	case evAttrFlags:
		e.Flags = u16
	case evAttrTimeout:
		e.Timeout = u32
	case evAttrIfIdx:
		e.IfIndex = int32(u32)
	case evAttrResetReason:
		e.ResetReason = u32
	case evAttrResetFlags:
		e.ResetFlags = u32
	case evAttrServerSide:
		e.ServerSide = u8 != 0
	}
	return err
}

// finish sets Local and Remote. When both an IPv4 and an IPv6 attribute
// of one side are present (the kernel sends one), FAMILY picks the one
// used and the other is kept in Unknown.
func (d *eventDecoder) finish(e *Event) {
	v6 := e.Family == unix.AF_INET6
	saddr := d.pick(e, d.saddr4, d.saddr6, evAttrSaddr4, evAttrSaddr6, v6)
	daddr := d.pick(e, d.daddr4, d.daddr6, evAttrDaddr4, evAttrDaddr6, v6)
	e.Local = netip.AddrPortFrom(saddr, d.sport)
	e.Remote = netip.AddrPortFrom(daddr, d.dport)
}

func (d *eventDecoder) pick(e *Event, a4, a6 []byte, t4, t6 uint16,
	v6 bool) netip.Addr {
	switch {
	case a4 != nil && a6 != nil:
		used, other, otherType := a4, a6, t6
		if v6 {
			used, other, otherType = a6, a4, t4
		}
		e.Present &^= 1 << otherType
		e.Unknown = append(e.Unknown, netlink.Attribute{
			Type: otherType, Data: append([]byte(nil), other...),
		})
		addr, _ := netip.AddrFromSlice(used)
		return addr
	case a4 != nil:
		return netip.AddrFrom4([4]byte(a4))
	case a6 != nil:
		return netip.AddrFrom16([16]byte(a6))
	}
	return netip.Addr{}
}

// encodeEvent is the inverse of DecodeEvent: it writes the present
// attributes in the order the kernel uses, then the unknown ones.
func encodeEvent(e Event) genetlink.Message {
	ae := netlink.NewAttributeEncoder()
	has := func(t uint16) bool { return e.Present&(1<<t) != 0 }
	if has(evAttrToken) {
		ae.Uint32(evAttrToken, e.Token)
	}
	if has(evAttrServerSide) {
		ae.Uint8(evAttrServerSide, boolU8(e.ServerSide))
	}
	if has(evAttrFlags) {
		ae.Uint16(evAttrFlags, e.Flags)
	}
	if has(evAttrFamily) {
		ae.Uint16(evAttrFamily, e.Family)
	}
	encodeEventAddr(ae, e.Local.Addr(), has, evAttrSaddr4, evAttrSaddr6)
	encodeEventAddr(ae, e.Remote.Addr(), has, evAttrDaddr4, evAttrDaddr6)
	if has(evAttrSport) {
		ae.Bytes(evAttrSport, be16(e.Local.Port()))
	}
	if has(evAttrDport) {
		ae.Bytes(evAttrDport, be16(e.Remote.Port()))
	}
	encodeEventTail(ae, e, has)

	// Encode fails only on errors of Nested or Do callbacks; none is used.
	b, _ := ae.Encode()
	return genetlink.Message{
		Header: genetlink.Header{Command: uint8(e.Type),
			Version: familyVersion},
		Data: b,
	}
}

func encodeEventTail(ae *netlink.AttributeEncoder, e Event,
	has func(uint16) bool) {
	if has(evAttrLocID) {
		ae.Uint8(evAttrLocID, e.LocalID)
	}
	if has(evAttrRemID) {
		ae.Uint8(evAttrRemID, e.RemoteID)
	}
	if has(evAttrBackup) {
		ae.Uint8(evAttrBackup, boolU8(e.Backup))
	}
	if has(evAttrIfIdx) {
		ae.Int32(evAttrIfIdx, e.IfIndex)
	}
	if has(evAttrError) {
		ae.Uint8(evAttrError, e.Error)
	}
	if has(evAttrTimeout) {
		ae.Uint32(evAttrTimeout, e.Timeout)
	}
	if has(evAttrResetReason) {
		ae.Uint32(evAttrResetReason, e.ResetReason)
	}
	if has(evAttrResetFlags) {
		ae.Uint32(evAttrResetFlags, e.ResetFlags)
	}
	for _, a := range e.Unknown {
		ae.Bytes(a.Type, a.Data)
	}
}

func encodeEventAddr(ae *netlink.AttributeEncoder, a netip.Addr,
	has func(uint16) bool, t4, t6 uint16) {
	switch {
	case has(t4) && a.Is4():
		b := a.As4()
		ae.Bytes(t4, b[:])
	case has(t6):
		b := a.As16()
		ae.Bytes(t6, b[:])
	case has(t4):
		b := a.Unmap().As4()
		ae.Bytes(t4, b[:])
	}
}

func be16(v uint16) []byte {
	return binary.BigEndian.AppendUint16(nil, v)
}

func boolU8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
