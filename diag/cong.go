package diag

// MemInfo is the socket memory of INET_DIAG_SKMEMINFO (SK_MEMINFO_*), in
// bytes except Drops. ss -m prints it as skmem:(r,rb,t,tb,f,w,o,bl,d).
type MemInfo struct {
	RmemAlloc  uint32 `json:"rmem_alloc"`
	RcvBuf     uint32 `json:"rcvbuf"`
	WmemAlloc  uint32 `json:"wmem_alloc"`
	SndBuf     uint32 `json:"sndbuf"`
	FwdAlloc   uint32 `json:"fwd_alloc"`
	WmemQueued uint32 `json:"wmem_queued"`
	OptMem     uint32 `json:"optmem"`
	Backlog    uint32 `json:"backlog"`
	Drops      uint32 `json:"drops"` // packets
}

func decodeMemInfo(m *MemInfo, b []byte) {
	*m = MemInfo{
		RmemAlloc:  u32(b),
		RcvBuf:     u32(tail(b, 4)),
		WmemAlloc:  u32(tail(b, 8)),
		SndBuf:     u32(tail(b, 12)),
		FwdAlloc:   u32(tail(b, 16)),
		WmemQueued: u32(tail(b, 20)),
		OptMem:     u32(tail(b, 24)),
		Backlog:    u32(tail(b, 28)),
		Drops:      u32(tail(b, 32)),
	}
}

// tail returns b from off, or nil when b is shorter.
func tail(b []byte, off int) []byte {
	if off >= len(b) {
		return nil
	}
	return b[off:]
}

// VegasInfo is struct tcpvegas_info (INET_DIAG_VEGASINFO), sent by the
// vegas congestion control module. Times in microseconds.
type VegasInfo struct {
	Enabled  uint32 `json:"enabled"`
	RTTCount uint32 `json:"rtt_count"`
	RTT      uint32 `json:"rtt"`
	MinRTT   uint32 `json:"min_rtt"`
}

// DCTCPInfo is struct tcp_dctcp_info (INET_DIAG_DCTCPINFO). Alpha is the
// ECN fraction estimate scaled by 1024; AbECN and AbTot are the bytes
// acked with and without ECN marks in the current window.
type DCTCPInfo struct {
	Enabled uint16 `json:"enabled"`
	CEState uint16 `json:"ce_state"`
	Alpha   uint32 `json:"alpha"`
	AbECN   uint32 `json:"ab_ecn"`
	AbTot   uint32 `json:"ab_tot"`
}

// BBRInfo is struct tcp_bbr_info (INET_DIAG_BBRINFO). The gains are scaled
// by 256 (BBR_UNIT), so 256 means 1.0.
type BBRInfo struct {
	BW         uint64 `json:"bw"`      // bottleneck bandwidth, bytes per second
	MinRTT     uint32 `json:"min_rtt"` // µs
	PacingGain uint32 `json:"pacing_gain"`
	CwndGain   uint32 `json:"cwnd_gain"`
}

func decodeVegas(v *VegasInfo, b []byte) {
	*v = VegasInfo{u32(b), u32(tail(b, 4)), u32(tail(b, 8)), u32(tail(b, 12))}
}

func decodeDCTCP(d *DCTCPInfo, b []byte) {
	*d = DCTCPInfo{
		Enabled: u16(b),
		CEState: u16(tail(b, 2)),
		Alpha:   u32(tail(b, 4)),
		AbECN:   u32(tail(b, 8)),
		AbTot:   u32(tail(b, 12)),
	}
}

func decodeBBR(r *BBRInfo, b []byte) {
	lo, hi := u32(b), u32(tail(b, 4))
	*r = BBRInfo{
		BW:         uint64(lo) | uint64(hi)<<32,
		MinRTT:     u32(tail(b, 8)),
		PacingGain: u32(tail(b, 12)),
		CwndGain:   u32(tail(b, 16)),
	}
}
