package pm

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// EventType is the generic netlink command of an event
// (enum mptcp_event_type). Values 4, 5, 8, 9, 12 and 14 are unused.
type EventType uint8

// Event types of Linux 6.18.
const (
	// EventCreated: a connection was created. The client sends it when
	// the SYN-ACK arrives, the server when it accepts the connection.
	EventCreated EventType = 1
	// EventEstablished: the connection is fully established; subflows
	// may be created from now on.
	EventEstablished EventType = 2
	// EventClosed: the local application closed the connection. It
	// comes without SUB_CLOSED for the remaining subflows, and not at
	// all when the peer sent MP_FASTCLOSE.
	EventClosed EventType = 3
	// EventAnnounced: the peer announced an address (ADD_ADDR).
	EventAnnounced EventType = 6
	// EventRemoved: the peer removed an address id (RM_ADDR).
	EventRemoved EventType = 7
	// EventSubEstablished: a subflow (join) is established.
	EventSubEstablished EventType = 10
	// EventSubClosed: a subflow closed or a join failed while the
	// connection lives.
	EventSubClosed EventType = 11
	// EventSubPriority: the peer changed a subflow's backup priority
	// (MP_PRIO received).
	EventSubPriority EventType = 13
	// EventListenerCreated: an MPTCP socket started listening.
	EventListenerCreated EventType = 15
	// EventListenerClosed: an MPTCP listener closed.
	EventListenerClosed EventType = 16
)

var eventNames = map[EventType]string{
	EventCreated:         "created",
	EventEstablished:     "established",
	EventClosed:          "closed",
	EventAnnounced:       "announced",
	EventRemoved:         "removed",
	EventSubEstablished:  "sf_established",
	EventSubClosed:       "sf_closed",
	EventSubPriority:     "sf_prio",
	EventListenerCreated: "listener_created",
	EventListenerClosed:  "listener_closed",
}

// String returns the lower-case name used by "ip mptcp monitor", such as
// "sf_established", or "unknown(N)".
func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return fmt.Sprintf("unknown(%d)", uint8(t))
}

// Event flag bits (MPTCP_PM_EV_FLAG_*), sent in Event.Flags on CREATED
// and ESTABLISHED only.
const (
	// EventFlagDenyJoinID0: the peer set the "C" bit of MP_CAPABLE,
	// which forbids joins to its initial address.
	EventFlagDenyJoinID0 uint16 = 0x1
	// EventFlagServerSide: this host accepted the connection.
	EventFlagServerSide uint16 = 0x2
)

// Event is one mptcp_pm multicast event. Fields whose attribute was not
// sent are zero, and Present distinguishes them from a sent 0.
type Event struct {
	Type   EventType
	Token  uint32
	Family uint16 // AF_INET or AF_INET6 of the socket
	// Local is SADDR4/SADDR6 with SPORT, Remote is DADDR4/DADDR6 with
	// DPORT. Event ports are big-endian on the wire. A subflow of a
	// dual-stack socket has IPv4-mapped addresses.
	Local, Remote     netip.AddrPort
	LocalID, RemoteID uint8
	Backup            bool
	IfIndex           int32
	// Error is the errno of a failed subflow, such as 111 (ECONNREFUSED).
	Error uint8
	// ResetReason and ResetFlags come from the peer's MP_TCPRST.
	ResetReason, ResetFlags uint32
	// ServerSide is the deprecated SERVER_SIDE attribute; Flags has the
	// same information in EventFlagServerSide.
	ServerSide bool
	Flags      uint16
	// Timeout is defined by the UAPI but not sent by Linux 6.18.
	Timeout uint32
	// Present has bit N set when attribute N (MPTCP_ATTR_*) was sent.
	Present uint32
	// Unknown holds the attributes not decoded into fields: unknown
	// types, and the unused address when both an IPv4 and an IPv6 one
	// were sent. Type flag bits (NLA_F_NESTED) are dropped.
	Unknown []netlink.Attribute
}

// Has reports whether the attribute with number attr was present.
func (e *Event) Has(attr uint16) bool {
	return attr < 32 && e.Present&(1<<attr) != 0
}

// Attribute numbers for Event.Has (MPTCP_ATTR_*).
const (
	AttrToken       = evAttrToken
	AttrFamily      = evAttrFamily
	AttrLocID       = evAttrLocID
	AttrRemID       = evAttrRemID
	AttrSaddr4      = evAttrSaddr4
	AttrSaddr6      = evAttrSaddr6
	AttrDaddr4      = evAttrDaddr4
	AttrDaddr6      = evAttrDaddr6
	AttrSport       = evAttrSport
	AttrDport       = evAttrDport
	AttrBackup      = evAttrBackup
	AttrError       = evAttrError
	AttrFlags       = evAttrFlags
	AttrTimeout     = evAttrTimeout
	AttrIfIdx       = evAttrIfIdx
	AttrResetReason = evAttrResetReason
	AttrResetFlags  = evAttrResetFlags
	AttrServerSide  = evAttrServerSide
)

// String formats e as its type followed by the key=value pairs of
// Fields, such as "sf_closed token=1a2b3c4d remid=0 locid=1 ...".
func (e *Event) String() string {
	var sb strings.Builder
	sb.WriteString(e.Type.String())
	for _, f := range e.Fields() {
		sb.WriteString(" " + f.Key + "=" + f.Value)
	}
	return sb.String()
}

// DecodeEvent decodes a generic netlink message of the events group.
// Unknown attributes go to Event.Unknown. A known attribute that is
// shorter than its type is an error.
func DecodeEvent(m genetlink.Message) (Event, error) {
	e := Event{Type: EventType(m.Header.Command)}
	var d eventDecoder
	err := walkAttrs(m.Data, func(typ uint16, data []byte) error {
		return d.attr(&e, typ, data)
	})
	if err != nil {
		return e, fmt.Errorf("decode %s event: %w", e.Type, err)
	}
	d.finish(&e)
	return e, nil
}
