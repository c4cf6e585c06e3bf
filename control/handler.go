package control

import "net/netip"

// Handler is the daemon side of the control socket. Its methods run on the
// socket's goroutines, several at once, so they must be safe for
// concurrent use. An error that wraps ErrInvalid, ErrNotFound or
// ErrUnsupported reaches the client with that code; any other error is
// reported as "failed".
//
// A watch request needs no method of its own: the server calls
// Connections once per interval and streams the result.
type Handler interface {
	// Status returns the daemon's identity and run-time options.
	Status() Status
	// Connections returns the tracked connections and their subflows.
	Connections() []Connection
	// AddAddress makes the daemon open subflows from a local address,
	// which must be assigned to an interface.
	AddAddress(netip.Addr) error
	// RemoveAddress stops the daemon from using a local address and
	// closes the subflows that use it.
	RemoveAddress(netip.Addr) error
	// SetOption changes one run-time option, named like the flag of
	// "mptcp-bpf-pm run", such as "policy" or "max-subflows".
	SetOption(key, value string) error
	// CreateSubflow requests one subflow of a connection from the kernel.
	CreateSubflow(SubflowRequest) error
}
