package diag

import "strings"

// SubflowInfo is the MPTCP part of INET_DIAG_ULP_INFO on a TCP socket that
// is an MPTCP subflow. The sequence and mapping fields are sent only to
// readers with CAP_NET_ADMIN; HasMapping reports whether they were.
type SubflowInfo struct {
	// LocalToken is the token of this host's MPTCP connection, equal to
	// MPTCPInfo.Token. RemoteToken is the peer's, 0 on the initial
	// subflow and on joins accepted from the peer.
	LocalToken  uint32 `json:"local_token"`
	RemoteToken uint32 `json:"remote_token"`
	LocalID     uint8  `json:"local_id"`  // address id at this end
	RemoteID    uint8  `json:"remote_id"` // address id at the peer
	Flags       uint32 `json:"flags"`     // SubflowFlag* bits

	HasMapping    bool   `json:"has_mapping"`
	RelWriteSeq   uint32 `json:"rel_write_seq"`
	MapSeq        uint64 `json:"map_seq"` // data sequence of the current mapping
	MapSubflowSeq uint32 `json:"map_subflow_seq"`
	SSNOffset     uint32 `json:"ssn_offset"`
	MapDataLen    uint16 `json:"map_data_len"`
}

// Bits of SubflowInfo.Flags (MPTCP_SUBFLOW_FLAG_*). REM means the peer
// requested it, LOC that this host did.
const (
	SubflowFlagMCapRem          = 1 << 0
	SubflowFlagMCapLoc          = 1 << 1
	SubflowFlagJoinRem          = 1 << 2
	SubflowFlagJoinLoc          = 1 << 3
	SubflowFlagBackupRem        = 1 << 4
	SubflowFlagBackupLoc        = 1 << 5
	SubflowFlagFullyEstablished = 1 << 6
	SubflowFlagConnected        = 1 << 7
	SubflowFlagMapValid         = 1 << 8
)

// Initial reports whether the subflow is the connection's first one (it
// carried MP_CAPABLE) rather than a join.
func (s *SubflowInfo) Initial() bool {
	return s.Flags&(SubflowFlagMCapLoc|SubflowFlagMCapRem) != 0
}

// Backup reports whether either end marked the subflow as backup.
func (s *SubflowInfo) Backup() bool {
	return s.Flags&(SubflowFlagBackupLoc|SubflowFlagBackupRem) != 0
}

// FlagString returns the flags as the letters ss prints: M/m MP_CAPABLE,
// J/j MP_JOIN, B/b backup (upper case for the peer's side), e fully
// established, c connected, v valid mapping.
func (s *SubflowInfo) FlagString() string {
	var b strings.Builder
	for _, f := range [...]struct {
		bit    uint32
		letter byte
	}{
		{SubflowFlagMCapRem, 'M'}, {SubflowFlagMCapLoc, 'm'},
		{SubflowFlagJoinRem, 'J'}, {SubflowFlagJoinLoc, 'j'},
		{SubflowFlagBackupRem, 'B'}, {SubflowFlagBackupLoc, 'b'},
		{SubflowFlagFullyEstablished, 'e'}, {SubflowFlagConnected, 'c'},
		{SubflowFlagMapValid, 'v'},
	} {
		if s.Flags&f.bit != 0 {
			b.WriteByte(f.letter)
		}
	}
	return b.String()
}

// decodeSubflow fills s from the attributes nested in INET_ULP_INFO_MPTCP,
// in any order. It reports false for a malformed nest.
func decodeSubflow(s *SubflowInfo, b []byte) bool {
	*s = SubflowInfo{}
	var it attrIter
	it.reset(b)
	for it.next() {
		d := it.data
		switch it.typ {
		case subflowTokenRem:
			s.RemoteToken = u32(d)
		case subflowTokenLoc:
			s.LocalToken = u32(d)
		case subflowRelWriteSeq:
			s.RelWriteSeq = u32(d)
			s.HasMapping = true
		case subflowMapSeq:
			s.MapSeq = u64(d)
		case subflowMapSfSeq:
			s.MapSubflowSeq = u32(d)
		case subflowSSNOffset:
			s.SSNOffset = u32(d)
		case subflowMapDataLen:
			s.MapDataLen = u16(d)
		case subflowFlags:
			s.Flags = u32(d)
		case subflowIDRem:
			s.RemoteID = u8(d)
		case subflowIDLoc:
			s.LocalID = u8(d)
		}
	}
	return !it.err
}
