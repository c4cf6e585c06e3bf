package optimizer

import (
	"net/netip"
	"strings"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// FromDiag returns the Input for one connection as inet_diag reports it,
// with the subflows in the order of c.Subflows. inet_diag cannot tell
// which end opened the connection, so ServerSide is false; Throughput
// needs two samples and Cap is the caller's, so both are 0.
func FromDiag(c diag.Connection) Input {
	in := Input{
		Version: Version,
		Connection: Connection{
			Local:  unmap(c.ID.Src),
			Remote: unmap(c.ID.Dst),
			State:  stateName(c.State),
		},
		Subflows: make([]Subflow, 0, len(c.Subflows)),
	}
	if c.Info != nil {
		in.Connection.Token = c.Info.Token
	}
	for i := range c.Subflows {
		in.Subflows = append(in.Subflows, subflowFromDiag(&c.Subflows[i]))
	}
	return in
}

func subflowFromDiag(s *diag.TCPSocket) Subflow {
	sf := Subflow{
		Cookie: s.ID.Cookie,
		Local:  unmap(s.ID.Src),
		Remote: unmap(s.ID.Dst),
	}
	if s.Subflow != nil {
		sf.LocalID = s.Subflow.LocalID
		sf.RemoteID = s.Subflow.RemoteID
		sf.Backup = s.Subflow.Backup()
	}
	if ti := s.Info; ti != nil {
		sf.SRTT, sf.RTTVar = ti.RTT, ti.RTTVar
		sf.SndCwnd, sf.Ssthresh = ti.SndCwnd, ti.SndSsthresh
		sf.BytesAcked, sf.BytesSent = ti.BytesAcked, ti.BytesSent
		sf.Retrans = ti.TotalRetrans
		sf.DeliveryRate = ti.DeliveryRate
	}
	return sf
}

// stateName returns "established" for an established connection and the
// lower-case ss name of any other state, such as "fin-wait-1".
func stateName(s diag.State) string {
	if s == diag.StateEstablished {
		return "established"
	}
	return strings.ToLower(s.String())
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
