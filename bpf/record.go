package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// Reason is a bit set of the causes for which the kernel sent a record.
type Reason uint32

// Reason bits, the same values as enum sf_reason in subflow.h.
const (
	ReasonNew       Reason = 1 << iota // first record of a subflow
	ReasonRTT                          // smoothed RTT moved
	ReasonCwnd                         // congestion window moved
	ReasonRetrans                      // a segment was retransmitted
	ReasonLoss                         // CA state entered Recovery or Loss
	ReasonState                        // TCP state changed
	ReasonCAState                      // congestion-avoidance state changed
	ReasonClose                        // TCP state became CLOSE
	ReasonHeartbeat                    // Options.Heartbeat elapsed
)

// Urgent reasons wake the reader at once; others wait for its drain.
const urgentReasons = ReasonNew | ReasonRetrans | ReasonLoss | ReasonClose

var reasonNames = []string{
	"new", "rtt", "cwnd", "retrans", "loss", "state", "ca_state",
	"close", "heartbeat",
}

// String returns the set bits as names joined by "|", such as
// "rtt|heartbeat", or "none".
func (r Reason) String() string {
	if r == 0 {
		return "none"
	}
	var b strings.Builder
	for i, name := range reasonNames {
		if r&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(name)
	}
	if rest := r &^ (1<<len(reasonNames) - 1); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		fmt.Fprintf(&b, "%#x", uint32(rest))
	}
	return b.String()
}

// Urgent reports whether the kernel woke the reader for this record.
func (r Reason) Urgent() bool { return r&urgentReasons != 0 }

// Record is one sample of one subflow. Counters are cumulative since the
// socket was created, as in tcp_info.
type Record struct {
	Timestamp uint64 // CLOCK_MONOTONIC ns (bpf_ktime_get_ns)
	Reason    Reason

	// Cookie is the socket cookie, equal to the inet_diag cookie. In
	// raw_tp mode it is 0 until something (such as an inet_diag dump)
	// has asked the kernel for the cookie.
	Cookie uint64

	Token    uint32 // local token of the MPTCP connection; 0 for plain TCP
	LocalID  int16  // MPTCP local address id; -1 when unset or plain TCP
	RemoteID uint8

	// Backup reports whether either end marked the subflow as backup:
	// the peer, or this host (an endpoint with the backup flag, MP_PRIO
	// sent). It is read again for every record until the subflow
	// closes. On Linux 6.18 the mptcp_pm SUB_ESTABLISHED event carries
	// only the peer's mark.
	Backup bool

	Family   uint16 // AF_INET (2) or AF_INET6 (10)
	Src, Dst netip.AddrPort

	SRTT, RTTVar, MinRTT uint32 // µs

	SndCwnd, SndSsthresh uint32 // segments
	PacketsOut           uint32
	TotalRetrans         uint32 // segments
	Lost                 uint32 // segments now marked lost (lost_out)
	Delivered            uint32 // segments

	BytesAcked, BytesSent, BytesRetrans uint64
	PacingRate, DeliveryRate            uint64 // bytes per second

	TCPState uint8 // TCP_ESTABLISHED = 1 ... TCP_CLOSE = 7
	CAState  uint8 // TCP_CA_Open = 0 ... TCP_CA_Loss = 4
}

// recordSize is sizeof(struct record) in subflow.h.
const recordSize = 144

// errShortRecord is returned for a sample shorter than struct record.
var errShortRecord = fmt.Errorf("BPF record shorter than %d bytes", recordSize)

// UnmarshalBinary fills r from one ring buffer sample in the layout of
// struct record in subflow.h (host byte order, little endian on every
// supported target). It does not allocate.
func (r *Record) UnmarshalBinary(b []byte) error {
	if len(b) < recordSize {
		return errShortRecord
	}
	le := binary.LittleEndian

	r.Timestamp = le.Uint64(b[0:])
	r.Cookie = le.Uint64(b[8:])
	r.BytesAcked = le.Uint64(b[16:])
	r.BytesSent = le.Uint64(b[24:])
	r.BytesRetrans = le.Uint64(b[32:])
	r.PacingRate = le.Uint64(b[40:])
	r.DeliveryRate = le.Uint64(b[48:])

	r.Reason = Reason(le.Uint32(b[56:]))
	r.Token = le.Uint32(b[60:])
	r.SRTT = le.Uint32(b[64:])
	r.RTTVar = le.Uint32(b[68:])
	r.MinRTT = le.Uint32(b[72:])
	r.SndCwnd = le.Uint32(b[76:])
	r.SndSsthresh = le.Uint32(b[80:])
	r.PacketsOut = le.Uint32(b[84:])
	r.TotalRetrans = le.Uint32(b[88:])
	r.Lost = le.Uint32(b[92:])
	r.Delivered = le.Uint32(b[96:])

	r.Family = le.Uint16(b[136:])
	sport, dport := le.Uint16(b[132:]), le.Uint16(b[134:])
	r.Src = netip.AddrPortFrom(decodeAddr(r.Family, b[100:116]), sport)
	r.Dst = netip.AddrPortFrom(decodeAddr(r.Family, b[116:132]), dport)

	r.LocalID = int16(le.Uint16(b[138:]))
	r.RemoteID = b[140]
	r.Backup = b[141] != 0
	r.TCPState = b[142]
	r.CAState = b[143]
	return nil
}

// decodeAddr reads an address in network byte order; IPv4 uses the first
// four bytes.
func decodeAddr(family uint16, b []byte) netip.Addr {
	if family == afInet {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16([16]byte(b[:16]))
}

const (
	afInet  = 2
	afInet6 = 10
)
