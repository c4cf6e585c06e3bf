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
// The MPTCP and the TCP dump are two requests, so a subflow that opens
// between them is missing and one that closes between them is listed.
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

	subs, owners, err := c.subflowsOf(byToken)
	if err != nil {
		return nil, err
	}
	groupSubflows(conns, subs, owners)
	return conns, nil
}

// subflowsOf returns the TCP sockets whose local token is in byToken,
// with the index of their connection.
func (c *Conn) subflowsOf(byToken map[uint32]int) ([]TCPSocket, []int, error) {
	req := Request{States: ConnectedStates}
	if len(byToken) == 1 {
		for t := range byToken {
			req.Token = t
		}
	}
	var subs []TCPSocket
	var owners []int
	var a arena
	err := c.WalkTCP(req, func(s *TCPSocket) error {
		if s.Subflow == nil {
			return nil
		}
		if i, ok := byToken[s.Subflow.LocalToken]; ok {
			subs = append(subs, a.cloneTCP(s))
			owners = append(owners, i)
		}
		return nil
	})
	return subs, owners, err
}

// groupSubflows gives each connection its subflows as a part of one
// shared array, sorted by compareSubflows, so that n connections cost one
// allocation instead of n.
func groupSubflows(conns []Connection, subs []TCPSocket, owners []int) {
	start := make([]int, len(conns)+1)
	for _, o := range owners {
		start[o+1]++
	}
	for i := range conns {
		start[i+1] += start[i]
	}
	sorted := make([]TCPSocket, len(subs))
	next := slices.Clone(start[:len(conns)])
	for j, o := range owners {
		sorted[next[o]] = subs[j]
		next[o]++
	}
	for i := range conns {
		// The capacity limit keeps an append by the caller from
		// overwriting the next connection's subflows.
		part := sorted[start[i]:start[i+1]:start[i+1]]
		if len(part) == 0 {
			continue
		}
		slices.SortFunc(part, compareSubflows)
		conns[i].Subflows = part
	}
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
