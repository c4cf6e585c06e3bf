package diag

import "encoding/binary"

// TCPInfo is struct tcp_info from INET_DIAG_INFO, 280 bytes on Linux 6.18.
// Older kernels send a prefix of it: fields beyond Len bytes are zero.
// Times are in microseconds unless a field says otherwise, rates in bytes
// per second, windows and cwnd in segments unless named bytes.
type TCPInfo struct {
	Len int `json:"len"` // bytes of struct tcp_info that the kernel sent

	State       uint8 `json:"state"`
	CAState     uint8 `json:"ca_state"`
	Retransmits uint8 `json:"retransmits"`
	Probes      uint8 `json:"probes"`
	Backoff     uint8 `json:"backoff"`
	Options     uint8 `json:"options"` // TCPI_OPT_* bits
	SndWScale   uint8 `json:"snd_wscale"`
	RcvWScale   uint8 `json:"rcv_wscale"`
	// DeliveryRateAppLimited reports that the last delivery rate sample
	// was limited by the application, not the network.
	DeliveryRateAppLimited bool  `json:"delivery_rate_app_limited"`
	FastOpenClientFail     uint8 `json:"fastopen_client_fail"`

	RTO     uint32 `json:"rto"`
	ATO     uint32 `json:"ato"`
	SndMSS  uint32 `json:"snd_mss"`
	RcvMSS  uint32 `json:"rcv_mss"`
	Unacked uint32 `json:"unacked"`
	Sacked  uint32 `json:"sacked"`
	Lost    uint32 `json:"lost"`
	Retrans uint32 `json:"retrans"`
	Fackets uint32 `json:"fackets"`

	LastDataSent uint32 `json:"last_data_sent"` // ms
	LastAckSent  uint32 `json:"last_ack_sent"`  // ms, always 0 on Linux
	LastDataRecv uint32 `json:"last_data_recv"` // ms
	LastAckRecv  uint32 `json:"last_ack_recv"`  // ms

	PMTU         uint32 `json:"pmtu"` // bytes
	RcvSsthresh  uint32 `json:"rcv_ssthresh"`
	RTT          uint32 `json:"rtt"`
	RTTVar       uint32 `json:"rttvar"`
	SndSsthresh  uint32 `json:"snd_ssthresh"`
	SndCwnd      uint32 `json:"snd_cwnd"`
	AdvMSS       uint32 `json:"advmss"`
	Reordering   uint32 `json:"reordering"`
	RcvRTT       uint32 `json:"rcv_rtt"`
	RcvSpace     uint32 `json:"rcv_space"`
	TotalRetrans uint32 `json:"total_retrans"`

	PacingRate    uint64 `json:"pacing_rate"`
	MaxPacingRate uint64 `json:"max_pacing_rate"`
	BytesAcked    uint64 `json:"bytes_acked"`
	BytesReceived uint64 `json:"bytes_received"`
	SegsOut       uint32 `json:"segs_out"`
	SegsIn        uint32 `json:"segs_in"`
	NotsentBytes  uint32 `json:"notsent_bytes"`
	MinRTT        uint32 `json:"min_rtt"`
	DataSegsIn    uint32 `json:"data_segs_in"`
	DataSegsOut   uint32 `json:"data_segs_out"`
	DeliveryRate  uint64 `json:"delivery_rate"`

	BusyTime      uint64 `json:"busy_time"`
	RwndLimited   uint64 `json:"rwnd_limited"`
	SndbufLimited uint64 `json:"sndbuf_limited"`
	Delivered     uint32 `json:"delivered"`
	DeliveredCE   uint32 `json:"delivered_ce"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesRetrans  uint64 `json:"bytes_retrans"`
	DSACKDups     uint32 `json:"dsack_dups"`
	ReordSeen     uint32 `json:"reord_seen"`
	RcvOOOPack    uint32 `json:"rcv_ooopack"`
	SndWnd        uint32 `json:"snd_wnd"` // bytes
	RcvWnd        uint32 `json:"rcv_wnd"` // bytes
	Rehash        uint32 `json:"rehash"`

	TotalRTO           uint16 `json:"total_rto"`
	TotalRTORecoveries uint16 `json:"total_rto_recoveries"`
	TotalRTOTime       uint32 `json:"total_rto_time"` // ms

	// Accurate ECN counters, added in Linux 6.18.
	ReceivedCE       uint32 `json:"received_ce"`
	DeliveredE1Bytes uint32 `json:"delivered_e1_bytes"`
	DeliveredE0Bytes uint32 `json:"delivered_e0_bytes"`
	DeliveredCEBytes uint32 `json:"delivered_ce_bytes"`
	ReceivedE1Bytes  uint32 `json:"received_e1_bytes"`
	ReceivedE0Bytes  uint32 `json:"received_e0_bytes"`
	ReceivedCEBytes  uint32 `json:"received_ce_bytes"`
	AccECNFailMode   uint16 `json:"accecn_fail_mode"`
	AccECNOptSeen    uint16 `json:"accecn_opt_seen"`
}

// tcpInfoSize is sizeof(struct tcp_info) on Linux 6.18. A longer attribute
// from a newer kernel is decoded up to this size.
const tcpInfoSize = 280

// decodeTCPInfo fills ti from b. The bytes are copied into a fixed array
// first, so a short attribute reads as zeros and no read goes past b.
func decodeTCPInfo(ti *TCPInfo, b []byte) {
	var a [tcpInfoSize]byte
	n := copy(a[:], b)
	ne := binary.NativeEndian

	*ti = TCPInfo{
		Len:         n,
		State:       a[0],
		CAState:     a[1],
		Retransmits: a[2],
		Probes:      a[3],
		Backoff:     a[4],
		Options:     a[5],
		SndWScale:   a[6] & 0x0f,
		RcvWScale:   a[6] >> 4,

		DeliveryRateAppLimited: a[7]&1 != 0,
		FastOpenClientFail:     a[7] >> 1 & 3,

		RTO:     ne.Uint32(a[8:]),
		ATO:     ne.Uint32(a[12:]),
		SndMSS:  ne.Uint32(a[16:]),
		RcvMSS:  ne.Uint32(a[20:]),
		Unacked: ne.Uint32(a[24:]),
		Sacked:  ne.Uint32(a[28:]),
		Lost:    ne.Uint32(a[32:]),
		Retrans: ne.Uint32(a[36:]),
		Fackets: ne.Uint32(a[40:]),

		LastDataSent: ne.Uint32(a[44:]),
		LastAckSent:  ne.Uint32(a[48:]),
		LastDataRecv: ne.Uint32(a[52:]),
		LastAckRecv:  ne.Uint32(a[56:]),

		PMTU:         ne.Uint32(a[60:]),
		RcvSsthresh:  ne.Uint32(a[64:]),
		RTT:          ne.Uint32(a[68:]),
		RTTVar:       ne.Uint32(a[72:]),
		SndSsthresh:  ne.Uint32(a[76:]),
		SndCwnd:      ne.Uint32(a[80:]),
		AdvMSS:       ne.Uint32(a[84:]),
		Reordering:   ne.Uint32(a[88:]),
		RcvRTT:       ne.Uint32(a[92:]),
		RcvSpace:     ne.Uint32(a[96:]),
		TotalRetrans: ne.Uint32(a[100:]),

		PacingRate:    ne.Uint64(a[104:]),
		MaxPacingRate: ne.Uint64(a[112:]),
		BytesAcked:    ne.Uint64(a[120:]),
		BytesReceived: ne.Uint64(a[128:]),
		SegsOut:       ne.Uint32(a[136:]),
		SegsIn:        ne.Uint32(a[140:]),
		NotsentBytes:  ne.Uint32(a[144:]),
		MinRTT:        ne.Uint32(a[148:]),
		DataSegsIn:    ne.Uint32(a[152:]),
		DataSegsOut:   ne.Uint32(a[156:]),
		DeliveryRate:  ne.Uint64(a[160:]),

		BusyTime:      ne.Uint64(a[168:]),
		RwndLimited:   ne.Uint64(a[176:]),
		SndbufLimited: ne.Uint64(a[184:]),
		Delivered:     ne.Uint32(a[192:]),
		DeliveredCE:   ne.Uint32(a[196:]),
		BytesSent:     ne.Uint64(a[200:]),
		BytesRetrans:  ne.Uint64(a[208:]),
		DSACKDups:     ne.Uint32(a[216:]),
		ReordSeen:     ne.Uint32(a[220:]),
		RcvOOOPack:    ne.Uint32(a[224:]),
		SndWnd:        ne.Uint32(a[228:]),
		RcvWnd:        ne.Uint32(a[232:]),
		Rehash:        ne.Uint32(a[236:]),

		TotalRTO:           ne.Uint16(a[240:]),
		TotalRTORecoveries: ne.Uint16(a[242:]),
		TotalRTOTime:       ne.Uint32(a[244:]),

		ReceivedCE:       ne.Uint32(a[248:]),
		DeliveredE1Bytes: ne.Uint32(a[252:]),
		DeliveredE0Bytes: ne.Uint32(a[256:]),
		DeliveredCEBytes: ne.Uint32(a[260:]),
		ReceivedE1Bytes:  ne.Uint32(a[264:]),
		ReceivedE0Bytes:  ne.Uint32(a[268:]),
		ReceivedCEBytes:  ne.Uint32(a[272:]),
		AccECNFailMode:   ne.Uint16(a[276:]),
		AccECNOptSeen:    ne.Uint16(a[278:]),
	}
}
