package pm

import (
	"fmt"
	"strconv"
)

// Field is one key=value pair of an event line.
type Field struct {
	Key, Value string
}

// Fields returns the present attributes of e as key=value pairs, with
// the keys, order and number formats of "ip mptcp monitor" (iproute2
// 6.x): token=%08x remid locid saddr4 daddr4 saddr6 daddr6 sport dport
// backup error flags=%x timeout ifindex reset_reason reset_flags=0x%x.
// server_side, which iproute2 does not print, comes last, followed by
// unknown attributes as attrN=hex.
func (e *Event) Fields() []Field {
	var fs []Field
	add := func(attr uint16, key, value string) {
		if e.Has(attr) {
			fs = append(fs, Field{key, value})
		}
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }

	add(evAttrToken, "token", fmt.Sprintf("%08x", e.Token))
	add(evAttrRemID, "remid", u(uint64(e.RemoteID)))
	add(evAttrLocID, "locid", u(uint64(e.LocalID)))
	add(evAttrSaddr4, "saddr4", e.Local.Addr().String())
	add(evAttrDaddr4, "daddr4", e.Remote.Addr().String())
	add(evAttrSaddr6, "saddr6", e.Local.Addr().String())
	add(evAttrDaddr6, "daddr6", e.Remote.Addr().String())
	add(evAttrSport, "sport", u(uint64(e.Local.Port())))
	add(evAttrDport, "dport", u(uint64(e.Remote.Port())))
	add(evAttrBackup, "backup", u(uint64(boolU8(e.Backup))))
	add(evAttrError, "error", u(uint64(e.Error)))
	add(evAttrFlags, "flags", fmt.Sprintf("%x", e.Flags))
	add(evAttrTimeout, "timeout", u(uint64(e.Timeout)))
	add(evAttrIfIdx, "ifindex", strconv.Itoa(int(e.IfIndex)))
	add(evAttrResetReason, "reset_reason", u(uint64(e.ResetReason)))
	add(evAttrResetFlags, "reset_flags", fmt.Sprintf("0x%x", e.ResetFlags))
	add(evAttrServerSide, "server_side", u(uint64(boolU8(e.ServerSide))))

	for _, a := range e.Unknown {
		fs = append(fs, Field{fmt.Sprintf("attr%d", a.Type),
			fmt.Sprintf("%x", a.Data)})
	}
	return fs
}
