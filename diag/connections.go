package diag

import (
	"cmp"
	"slices"
)

// Connection is an MPTCP socket with its subflows.
type Connection struct {
	MPTCPSocket
	Subflows []TCPSocket `json:"subflows"`
}

// Connections returns the MPTCP sockets that req selects, each with its
// subflows: the TCP sockets whose subflow info carries the connection's
// local token. The initial subflow comes first, then joins by local
// address id and port. req's filters apply to the MPTCP socket only, not
// to the subflows, which may use other addresses and ports.
//
// The two dumps are not atomic: a subflow that opens or closes between
// them may be missing or left out.
func (c *Conn) Connections(req Request) ([]Connection, error) {
	msks, err := c.DumpMPTCP(req)
	if err != nil {
		return nil, err
	}
	conns := make([]Connection, len(msks))
	byToken := make(map[uint32]int, len(msks))
	for i, m := range msks {
		conns[i].MPTCPSocket = m
		if m.Info != nil && m.Info.Token != 0 {
			byToken[m.Info.Token] = i
		}
	}
	if len(byToken) == 0 {
		return conns, nil
	}

	sub := Request{States: ConnectedStates}
	if len(byToken) == 1 {
		for t := range byToken {
			sub.Token = t
		}
	}
	var a arena
	err = c.WalkTCP(sub, func(s *TCPSocket) error {
		if s.Subflow == nil {
			return nil
		}
		i, ok := byToken[s.Subflow.LocalToken]
		if ok {
			conns[i].Subflows = append(conns[i].Subflows, a.cloneTCP(s))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range conns {
		slices.SortFunc(conns[i].Subflows, compareSubflows)
	}
	return conns, nil
}

func compareSubflows(x, y TCPSocket) int {
	xi, yi := x.Subflow.Initial(), y.Subflow.Initial()
	if xi != yi {
		if xi {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(x.Subflow.LocalID, y.Subflow.LocalID); c != 0 {
		return c
	}
	if c := x.ID.Src.Compare(y.ID.Src); c != 0 {
		return c
	}
	return x.ID.Dst.Compare(y.ID.Dst)
}
