package daemon

import (
	"net/netip"
	"time"
)

// subflowState is the life cycle of one subflow as the daemon sees it.
type subflowState string

const (
	subflowPending     subflowState = "pending" // SUBFLOW_CREATE acknowledged, not yet established
	subflowEstablished subflowState = "established"
	subflowClosed      subflowState = "closed"
)

// subflow is one TCP subflow of a tracked connection.
type subflow struct {
	Local, Remote     netip.AddrPort // unmapped
	LocalID, RemoteID uint8
	Backup            bool
	IfIndex           int32
	State             subflowState
	Cookie            uint64 // socket cookie, 0 until BPF or diag reports it
	Requested         bool   // created by this daemon
	Error             uint8  // errno from SUB_CLOSED, if any
}

// conn is one MPTCP connection of the daemon's network namespace.
type conn struct {
	Token         uint32
	Local, Remote netip.AddrPort // initial subflow, unmapped
	ServerSide    bool
	Established   bool
	Adopted       bool      // found by inet_diag at start-up
	Since         time.Time // when the daemon first saw it
	// Announced holds the peer's addresses from ANNOUNCED events, by
	// remote address id.
	Announced map[uint8]netip.AddrPort
	Subflows  []*subflow
}

func newConn(token uint32, local, remote netip.AddrPort) *conn {
	return &conn{
		Token:     token,
		Local:     unmapAddrPort(local),
		Remote:    unmapAddrPort(remote),
		Since:     time.Now(),
		Announced: make(map[uint8]netip.AddrPort),
	}
}

// remoteAddrs returns the initial remote address and every announced one.
// An announced address without its own port gets the initial remote port,
// because the kernel reports the carrying subflow's port there.
func (c *conn) remoteAddrs() []netip.AddrPort {
	out := []netip.AddrPort{c.Remote}
	for _, a := range c.Announced {
		if a.Addr() == c.Remote.Addr() {
			continue
		}
		out = append(out, a)
	}
	return out
}

// hasSubflow reports whether a pending or established subflow joins the
// two addresses, or whether the pair is the initial subflow's.
func (c *conn) hasSubflow(local, remote netip.Addr) bool {
	if local == c.Local.Addr() && remote == c.Remote.Addr() {
		return true
	}
	for _, sf := range c.Subflows {
		if sf.State == subflowClosed {
			continue
		}
		if sf.Local.Addr() == local && sf.Remote.Addr() == remote {
			return true
		}
	}
	return false
}

// findSubflow returns the subflow with the given 4-tuple, or nil.
func (c *conn) findSubflow(local, remote netip.AddrPort) *subflow {
	for _, sf := range c.Subflows {
		if sf.Local == local && sf.Remote == remote {
			return sf
		}
	}
	return nil
}

// findPending returns a pending subflow between the two addresses, whose
// source port is not known yet, or nil.
func (c *conn) findPending(local netip.Addr, remote netip.AddrPort) *subflow {
	for _, sf := range c.Subflows {
		if sf.State == subflowPending && sf.Local.Addr() == local && sf.Remote == remote {
			return sf
		}
	}
	return nil
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
