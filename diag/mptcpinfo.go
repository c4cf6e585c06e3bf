package diag

import "encoding/binary"

// MPTCPInfo is struct mptcp_info from INET_DIAG_INFO of an MPTCP socket,
// 96 bytes on Linux 6.18. Fields beyond Len bytes are zero.
type MPTCPInfo struct {
	Len int `json:"len"` // bytes of struct mptcp_info that the kernel sent

	// Subflows counts the additional subflows, the initial one excluded;
	// SubflowsTotal counts every live subflow (0 on kernels without it).
	Subflows            uint8  `json:"subflows"`
	AddAddrSignal       uint8  `json:"add_addr_signal"`
	AddAddrAccepted     uint8  `json:"add_addr_accepted"`
	SubflowsMax         uint8  `json:"subflows_max"`
	AddAddrSignalMax    uint8  `json:"add_addr_signal_max"`
	AddAddrAcceptedMax  uint8  `json:"add_addr_accepted_max"`
	Flags               uint32 `json:"flags"` // MPTCPInfoFlag* bits
	Token               uint32 `json:"token"` // local token, as in the PM events
	WriteSeq            uint64 `json:"write_seq"`
	SndUna              uint64 `json:"snd_una"`
	RcvNxt              uint64 `json:"rcv_nxt"`
	LocalAddrUsed       uint8  `json:"local_addr_used"`
	LocalAddrMax        uint8  `json:"local_addr_max"`
	CsumEnabled         uint8  `json:"csum_enabled"`
	Retransmits         uint32 `json:"retransmits"`
	BytesRetrans        uint64 `json:"bytes_retrans"`
	BytesSent           uint64 `json:"bytes_sent"`
	BytesReceived       uint64 `json:"bytes_received"`
	BytesAcked          uint64 `json:"bytes_acked"`
	SubflowsTotal       uint8  `json:"subflows_total"`
	EndpointLaminarMax  uint8  `json:"endp_laminar_max"`  // Linux 6.18
	EndpointFullmeshMax uint8  `json:"endp_fullmesh_max"` // reserved, 0 on 6.18
	LastDataSent        uint32 `json:"last_data_sent"`    // ms
	LastDataRecv        uint32 `json:"last_data_recv"`    // ms
	LastAckRecv         uint32 `json:"last_ack_recv"`     // ms
}

// Bits of MPTCPInfo.Flags.
const (
	MPTCPInfoFlagFallback          = 1 << 0 // fell back to plain TCP
	MPTCPInfoFlagRemoteKeyReceived = 1 << 1
)

const mptcpInfoSize = 96

func decodeMPTCPInfo(mi *MPTCPInfo, b []byte) {
	var a [mptcpInfoSize]byte
	n := copy(a[:], b)
	ne := binary.NativeEndian

	*mi = MPTCPInfo{
		Len:                 n,
		Subflows:            a[0],
		AddAddrSignal:       a[1],
		AddAddrAccepted:     a[2],
		SubflowsMax:         a[3],
		AddAddrSignalMax:    a[4],
		AddAddrAcceptedMax:  a[5],
		Flags:               ne.Uint32(a[8:]),
		Token:               ne.Uint32(a[12:]),
		WriteSeq:            ne.Uint64(a[16:]),
		SndUna:              ne.Uint64(a[24:]),
		RcvNxt:              ne.Uint64(a[32:]),
		LocalAddrUsed:       a[40],
		LocalAddrMax:        a[41],
		CsumEnabled:         a[42],
		Retransmits:         ne.Uint32(a[44:]),
		BytesRetrans:        ne.Uint64(a[48:]),
		BytesSent:           ne.Uint64(a[56:]),
		BytesReceived:       ne.Uint64(a[64:]),
		BytesAcked:          ne.Uint64(a[72:]),
		SubflowsTotal:       a[80],
		EndpointLaminarMax:  a[81],
		EndpointFullmeshMax: a[82],
		LastDataSent:        ne.Uint32(a[84:]),
		LastDataRecv:        ne.Uint32(a[88:]),
		LastAckRecv:         ne.Uint32(a[92:]),
	}
}
