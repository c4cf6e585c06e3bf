package diag

import (
	"encoding/binary"
)

// The encoders below turn decoded sockets back into reply bytes, so that
// tests and fuzz targets can check that decode(encode(decode(b))) equals
// decode(b). They write every field the decoders read.

var ne = binary.NativeEndian

func encodeHeader(s *Socket) []byte {
	b := make([]byte, msgSize)
	b[0], b[1], b[2], b[3] = s.Family, uint8(s.State), s.Timer, s.Retrans
	encodeSockID(b[4:], s.ID)
	// encodeSockID writes a zero cookie as INET_DIAG_NOCOOKIE.
	ne.PutUint32(b[4+sidCookieLo:], uint32(s.ID.Cookie))
	ne.PutUint32(b[4+sidCookieHi:], uint32(s.ID.Cookie>>32))
	if s.Family != 2 { // the decoder reads 16 bytes for anything but AF_INET
		a := s.ID.Src.Addr().As16()
		copy(b[4+sidSrc:], a[:])
		a = s.ID.Dst.Addr().As16()
		copy(b[4+sidDst:], a[:])
	}
	ne.PutUint32(b[52:], s.Expires)
	ne.PutUint32(b[56:], s.RecvQueue)
	ne.PutUint32(b[60:], s.SendQueue)
	ne.PutUint32(b[64:], s.UID)
	ne.PutUint32(b[68:], s.Inode)

	b = appendAttr(b, attrShutdown, []byte{s.Shutdown})
	b = appendAttrU32(b, attrMark, s.Mark)
	b = appendAttr(b, attrCgroupID, ne.AppendUint64(nil, s.CgroupID))
	b = appendAttrU32(b, attrClassID, s.ClassID)
	b = appendAttr(b, attrTOS, []byte{s.TOS})
	b = appendAttr(b, attrTClass, []byte{s.TClass})
	v6only := byte(0)
	if s.V6Only {
		v6only = 1
	}
	b = appendAttr(b, attrSkV6Only, []byte{v6only})
	return appendAttr(b, attrSockOpt, ne.AppendUint16(nil, s.SockOpt))
}

func encodeTCPSocket(s *TCPSocket) []byte {
	b := encodeHeader(&s.Socket)
	if s.Info != nil {
		b = appendAttr(b, attrInfo, encodeTCPInfo(s.Info))
	}
	if s.Congestion != "" {
		b = appendAttr(b, attrCong, append([]byte(s.Congestion), 0))
	}
	if s.Mem != nil {
		b = appendAttr(b, attrSkMemInfo, encodeMemInfo(s.Mem))
	}
	if v := s.Vegas; v != nil {
		b = appendAttr(b, attrVegasInfo, u32s(v.Enabled, v.RTTCount, v.RTT, v.MinRTT))
	}
	if d := s.DCTCP; d != nil {
		p := ne.AppendUint16(nil, d.Enabled)
		p = ne.AppendUint16(p, d.CEState)
		b = appendAttr(b, attrDCTCPInfo, append(p, u32s(d.Alpha, d.AbECN, d.AbTot)...))
	}
	if r := s.BBR; r != nil {
		b = appendAttr(b, attrBBRInfo, u32s(uint32(r.BW), uint32(r.BW>>32), r.MinRTT, r.PacingGain, r.CwndGain))
	}
	if s.ULP != "" || s.Subflow != nil {
		b = appendAttr(b, attrULPInfo, encodeULP(s))
	}
	return b
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = ne.AppendUint32(b, x)
	}
	return b
}

func encodeMemInfo(m *MemInfo) []byte {
	return u32s(m.RmemAlloc, m.RcvBuf, m.WmemAlloc, m.SndBuf, m.FwdAlloc,
		m.WmemQueued, m.OptMem, m.Backlog, m.Drops)
}

func encodeULP(s *TCPSocket) []byte {
	var b []byte
	if s.ULP != "" {
		b = appendAttr(b, ulpInfoName, append([]byte(s.ULP), 0))
	}
	if f := s.Subflow; f != nil {
		var n []byte
		n = appendAttrU32(n, subflowTokenRem, f.RemoteToken)
		n = appendAttrU32(n, subflowTokenLoc, f.LocalToken)
		n = appendAttrU32(n, subflowFlags, f.Flags)
		n = appendAttr(n, subflowIDRem, []byte{f.RemoteID})
		n = appendAttr(n, subflowIDLoc, []byte{f.LocalID})
		if f.HasMapping {
			n = appendAttrU32(n, subflowRelWriteSeq, f.RelWriteSeq)
		}
		n = appendAttr(n, subflowMapSeq, ne.AppendUint64(nil, f.MapSeq))
		n = appendAttrU32(n, subflowMapSfSeq, f.MapSubflowSeq)
		n = appendAttrU32(n, subflowSSNOffset, f.SSNOffset)
		n = appendAttr(n, subflowMapDataLen, ne.AppendUint16(nil, f.MapDataLen))
		b = appendAttr(b, ulpInfoMPTCP, n)
	}
	return b
}

func encodeTCPInfo(t *TCPInfo) []byte {
	var a [tcpInfoSize]byte
	a[0], a[1], a[2], a[3], a[4], a[5] = t.State, t.CAState, t.Retransmits, t.Probes, t.Backoff, t.Options
	a[6] = t.SndWScale&0x0f | t.RcvWScale<<4
	a[7] = t.FastOpenClientFail << 1
	if t.DeliveryRateAppLimited {
		a[7] |= 1
	}
	for off, v := range map[int]uint32{
		8: t.RTO, 12: t.ATO, 16: t.SndMSS, 20: t.RcvMSS, 24: t.Unacked,
		28: t.Sacked, 32: t.Lost, 36: t.Retrans, 40: t.Fackets,
		44: t.LastDataSent, 48: t.LastAckSent, 52: t.LastDataRecv,
		56: t.LastAckRecv, 60: t.PMTU, 64: t.RcvSsthresh, 68: t.RTT,
		72: t.RTTVar, 76: t.SndSsthresh, 80: t.SndCwnd, 84: t.AdvMSS,
		88: t.Reordering, 92: t.RcvRTT, 96: t.RcvSpace, 100: t.TotalRetrans,
		136: t.SegsOut, 140: t.SegsIn, 144: t.NotsentBytes, 148: t.MinRTT,
		152: t.DataSegsIn, 156: t.DataSegsOut, 192: t.Delivered,
		196: t.DeliveredCE, 216: t.DSACKDups, 220: t.ReordSeen,
		224: t.RcvOOOPack, 228: t.SndWnd, 232: t.RcvWnd, 236: t.Rehash,
		244: t.TotalRTOTime, 248: t.ReceivedCE, 252: t.DeliveredE1Bytes,
		256: t.DeliveredE0Bytes, 260: t.DeliveredCEBytes,
		264: t.ReceivedE1Bytes, 268: t.ReceivedE0Bytes, 272: t.ReceivedCEBytes,
	} {
		ne.PutUint32(a[off:], v)
	}
	for off, v := range map[int]uint64{
		104: t.PacingRate, 112: t.MaxPacingRate, 120: t.BytesAcked,
		128: t.BytesReceived, 160: t.DeliveryRate, 168: t.BusyTime,
		176: t.RwndLimited, 184: t.SndbufLimited, 200: t.BytesSent,
		208: t.BytesRetrans,
	} {
		ne.PutUint64(a[off:], v)
	}
	for off, v := range map[int]uint16{
		240: t.TotalRTO, 242: t.TotalRTORecoveries,
		276: t.AccECNFailMode, 278: t.AccECNOptSeen,
	} {
		ne.PutUint16(a[off:], v)
	}
	return a[:t.Len]
}

func encodeMPTCPSocket(s *MPTCPSocket) []byte {
	b := encodeHeader(&s.Socket)
	if s.Info != nil {
		b = appendAttr(b, attrInfo, encodeMPTCPInfo(s.Info))
	}
	if s.Mem != nil {
		b = appendAttr(b, attrSkMemInfo, encodeMemInfo(s.Mem))
	}
	return b
}

func encodeMPTCPInfo(m *MPTCPInfo) []byte {
	var a [mptcpInfoSize]byte
	a[0], a[1], a[2], a[3], a[4], a[5] = m.Subflows, m.AddAddrSignal,
		m.AddAddrAccepted, m.SubflowsMax, m.AddAddrSignalMax, m.AddAddrAcceptedMax
	ne.PutUint32(a[8:], m.Flags)
	ne.PutUint32(a[12:], m.Token)
	ne.PutUint64(a[16:], m.WriteSeq)
	ne.PutUint64(a[24:], m.SndUna)
	ne.PutUint64(a[32:], m.RcvNxt)
	a[40], a[41], a[42] = m.LocalAddrUsed, m.LocalAddrMax, m.CsumEnabled
	ne.PutUint32(a[44:], m.Retransmits)
	ne.PutUint64(a[48:], m.BytesRetrans)
	ne.PutUint64(a[56:], m.BytesSent)
	ne.PutUint64(a[64:], m.BytesReceived)
	ne.PutUint64(a[72:], m.BytesAcked)
	a[80], a[81], a[82] = m.SubflowsTotal, m.EndpointLaminarMax, m.EndpointFullmeshMax
	ne.PutUint32(a[84:], m.LastDataSent)
	ne.PutUint32(a[88:], m.LastDataRecv)
	ne.PutUint32(a[92:], m.LastAckRecv)
	return a[:m.Len]
}
