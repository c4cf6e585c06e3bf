package daemon

import (
	"net/netip"
	"time"
)

// subflowState is the life cycle of one subflow in the daemon's table.
type subflowState string

const (
	subflowPending     subflowState = "pending" // SUBFLOW_CREATE sent, not yet established
	subflowEstablished subflowState = "established"
	subflowClosed      subflowState = "closed"
)

// subflow is one TCP subflow of a tracked connection.
type subflow struct {
	// Local and Remote are unmapped; WireLocal and WireRemote are the
	// addresses as the kernel reported them (IPv4-mapped on dual-stack
	// sockets), which SUBFLOW_DESTROY and SET_FLAGS need.
	Local, Remote         netip.AddrPort
	WireLocal, WireRemote netip.AddrPort
	LocalID, RemoteID     uint8
	Backup                bool
	IfIndex               int32
	State                 subflowState
	Cookie                uint64 // socket cookie, 0 until BPF or diag reports it
	Requested             bool   // created by this daemon
	Initial               bool   // the connection's first subflow
	Error                 uint8  // errno from SUB_CLOSED, if any
	ResetReason           uint32 // MP_TCPRST reason from SUB_CLOSED, if any
	Since                 time.Time

	// Stats are the latest statistics, from BPF or diag.
	Stats subflowStats
	// Health is the adaptive policy's view of the subflow.
	Health health
	// Cap is the cwnd cap the optimizer set, 0 for none; optAt and
	// optAcked are the optimizer's throughput baseline.
	Cap      uint32
	optAt    time.Time
	optAcked uint64
}

// subflowStats is the latest statistics sample of a subflow.
type subflowStats struct {
	Source       string
	At           time.Time
	SRTTUs       uint32
	SndCwnd      uint32
	SndSsthresh  uint32
	BytesAcked   uint64
	BytesSent    uint64
	BytesRetrans uint64
	TotalRetrans uint32
	CAState      uint8
	DeliveryRate uint64
	PacingRate   uint64
}

// retry is a subflow the adaptive policy reopens after a backoff.
type retry struct {
	Local   netip.Addr
	Remote  netip.AddrPort
	At      time.Time     // not before
	Backoff time.Duration // the next delay
}

// conn is one MPTCP connection of the daemon's network namespace.
type conn struct {
	Token         uint32
	Local, Remote netip.AddrPort // initial subflow, unmapped
	ServerSide    bool
	Established   bool
	// DenyJoinID0 is set when the peer asked for no joins to its
	// initial address (the "C" bit of MP_CAPABLE).
	DenyJoinID0 bool
	Adopted     bool      // found by inet_diag, not by an event
	Managed     bool      // passes the connection filter
	Since       time.Time // when the daemon first saw it
	// Announced holds the peer's addresses from ANNOUNCED events, by
	// remote address id.
	Announced map[uint8]netip.AddrPort
	// Signalled holds the local addresses this daemon announced to the
	// peer, by address id.
	Signalled map[uint8]netip.Addr
	Subflows  []*subflow
	Retries   []*retry
}

// newConn returns a connection whose table holds its initial subflow, with
// the addresses as the kernel reported them.
func newConn(token uint32, local, remote netip.AddrPort) *conn {
	now := time.Now()
	c := &conn{
		Token:     token,
		Local:     unmapAddrPort(local),
		Remote:    unmapAddrPort(remote),
		Managed:   true,
		Since:     now,
		Announced: make(map[uint8]netip.AddrPort),
		Signalled: make(map[uint8]netip.Addr),
	}
	c.Subflows = []*subflow{{
		Local:      c.Local,
		Remote:     c.Remote,
		WireLocal:  local,
		WireRemote: remote,
		State:      subflowEstablished,
		Initial:    true,
		Since:      now,
	}}
	return c
}

// remoteAddrs returns the initial remote address and every announced one.
// An announced address gets the initial remote port unless the peer
// announced a port, because the kernel reports the port of the subflow
// that carried ADD_ADDR otherwise.
func (c *conn) remoteAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	if !c.DenyJoinID0 {
		out = append(out, c.Remote)
	}
	for _, a := range c.Announced {
		if a.Addr() == c.Remote.Addr() {
			continue
		}
		out = append(out, a)
	}
	return out
}

// hasSubflow reports whether a pending or established subflow joins the
// two addresses.
func (c *conn) hasSubflow(local, remote netip.Addr) bool {
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

// openSubflows returns the number of pending or established extra
// subflows.
func (c *conn) openSubflows() int {
	n := 0
	for _, sf := range c.Subflows {
		if sf.State != subflowClosed && !sf.Initial {
			n++
		}
	}
	return n
}

// retryPending reports whether a backoff delays a subflow between the two
// addresses.
func (c *conn) retryPending(local, remote netip.Addr) bool {
	now := time.Now()
	for _, r := range c.Retries {
		if r.Local == local && r.Remote.Addr() == remote && now.Before(r.At) {
			return true
		}
	}
	return false
}

// findSubflow returns the subflow with the given unmapped 4-tuple, or nil.
func (c *conn) findSubflow(local, remote netip.AddrPort) *subflow {
	for _, sf := range c.Subflows {
		if sf.Local == local && sf.Remote == remote {
			return sf
		}
	}
	return nil
}

// findCookie returns the subflow with the given socket cookie, or nil.
func (c *conn) findCookie(cookie uint64) *subflow {
	for _, sf := range c.Subflows {
		if sf.Cookie == cookie {
			return sf
		}
	}
	return nil
}

// findPending returns a pending subflow between the two addresses, whose
// source port is not known yet, or nil.
func (c *conn) findPending(local netip.Addr, remote netip.AddrPort) *subflow {
	for _, sf := range c.Subflows {
		if sf.State == subflowPending && sf.Local.Port() == 0 && sf.Local.Addr() == local && sf.Remote == remote {
			return sf
		}
	}
	return nil
}

// prune drops closed subflows older than a minute, so that a long-lived
// connection with churning subflows keeps a bounded table.
func (c *conn) prune(now time.Time) {
	kept := c.Subflows[:0]
	for _, sf := range c.Subflows {
		if sf.State == subflowClosed && now.Sub(sf.Since) > time.Minute {
			continue
		}
		kept = append(kept, sf)
	}
	c.Subflows = kept
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
