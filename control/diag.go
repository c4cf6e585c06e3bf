package control

import (
	"net/netip"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// FromDiag converts an inet_diag dump taken at time at into the control
// view, for readers that run without the daemon. A subflow's State is the
// TCP state name, such as "ESTAB"; ServerSide and Managed stay false.
func FromDiag(conns []diag.Connection, at time.Time) []Connection {
	out := make([]Connection, 0, len(conns))
	for i := range conns {
		dc := &conns[i]
		c := Connection{
			Local:       unmap(dc.ID.Src),
			Remote:      unmap(dc.ID.Dst),
			Established: dc.State == diag.StateEstablished,
			Subflows:    make([]Subflow, 0, len(dc.Subflows)),
		}
		if dc.Info != nil {
			c.Token = dc.Info.Token
		}
		for j := range dc.Subflows {
			c.Subflows = append(c.Subflows, subflowFromDiag(&dc.Subflows[j], at))
		}
		out = append(out, c)
	}
	return out
}

func subflowFromDiag(s *diag.TCPSocket, at time.Time) Subflow {
	sf := Subflow{
		Local:  unmap(s.ID.Src),
		Remote: unmap(s.ID.Dst),
		State:  s.State.String(),
		Cookie: s.ID.Cookie,
	}
	if s.Subflow != nil {
		sf.LocalID, sf.RemoteID = s.Subflow.LocalID, s.Subflow.RemoteID
		sf.Backup = s.Subflow.Backup()
	}
	if i := s.Info; i != nil {
		sf.SRTTUs, sf.RTTVarUs, sf.SndCwnd = i.RTT, i.RTTVar, i.SndCwnd
		sf.BytesSent, sf.BytesAcked = i.BytesSent, i.BytesAcked
		sf.BytesReceived, sf.BytesRetrans = i.BytesReceived, i.BytesRetrans
		sf.TotalRetrans = i.TotalRetrans
		sf.DeliveryRate, sf.PacingRate = i.DeliveryRate, i.PacingRate
		sf.StatsSource, sf.StatsTime = "diag", at
	}
	return sf
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
