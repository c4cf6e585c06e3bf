package diag

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Request selects sockets for a dump. The zero value selects every
// connected socket of both families. Port, address and interface filters
// run in the kernel as inet_diag bytecode, so sockets they exclude are
// never copied to user space; Token and Cookie are checked after decoding.
type Request struct {
	// Family is unix.AF_INET, unix.AF_INET6 or 0 for both. A dual-stack
	// socket talking IPv4 is AF_INET6 with IPv4-mapped addresses.
	Family uint8
	// States is a mask of 1<<State, built with States; 0 means
	// ConnectedStates. Listeners are dumped only when the mask has
	// StateListen.
	States uint32

	SrcPort uint16 // local port, 0 for any
	DstPort uint16 // remote port, 0 for any
	Port    uint16 // local or remote port, 0 for any

	// Src and Dst select local and remote addresses. An IPv4 prefix
	// also matches IPv4-mapped addresses of AF_INET6 sockets. The zero
	// Prefix matches any address.
	Src, Dst netip.Prefix
	IfIndex  uint32 // bound device (SO_BINDTODEVICE), 0 for any

	// Token selects one MPTCP connection by its local token: an MPTCP
	// dump returns that socket only, a TCP dump only its subflows.
	Token uint32
	// Cookie selects the socket with this cookie.
	Cookie uint64
}

func (r *Request) states() uint32 {
	if r.States == 0 {
		return ConnectedStates
	}
	return r.States
}

// families returns the address families to dump, one request each,
// because the kernel keeps a handler per family.
func (r *Request) families() ([]uint8, error) {
	switch r.Family {
	case 0:
		return []uint8{unix.AF_INET, unix.AF_INET6}, nil
	case unix.AF_INET:
		return []uint8{unix.AF_INET}, nil
	case unix.AF_INET6:
		return []uint8{unix.AF_INET6}, nil
	}
	return nil, fmt.Errorf("invalid address family %d: want 0, AF_INET (%d) or AF_INET6 (%d)",
		r.Family, unix.AF_INET, unix.AF_INET6)
}

// match applies every filter in user space. It repeats the kernel's work
// for the bytecode filters, which keeps lookups (that take no bytecode)
// and older kernels correct.
func (r *Request) match(s *Socket) bool {
	if r.states()&(1<<s.State) == 0 {
		return false
	}
	if r.Family != 0 && s.Family != r.Family {
		return false
	}
	if !r.matchBytecode(s.ID) {
		return false
	}
	return r.Cookie == 0 || s.ID.Cookie == r.Cookie
}

// matchBytecode reports whether id passes the filters that
// compileBytecode hands to the kernel.
func (r *Request) matchBytecode(id SockID) bool {
	if !r.matchPorts(id) {
		return false
	}
	if !prefixMatch(r.Src, id.Src.Addr()) || !prefixMatch(r.Dst, id.Dst.Addr()) {
		return false
	}
	return r.IfIndex == 0 || id.IfIndex == r.IfIndex
}

func (r *Request) matchPorts(id SockID) bool {
	sp, dp := id.Src.Port(), id.Dst.Port()
	if r.SrcPort != 0 && sp != r.SrcPort {
		return false
	}
	if r.DstPort != 0 && dp != r.DstPort {
		return false
	}
	return r.Port == 0 || sp == r.Port || dp == r.Port
}

func prefixMatch(p netip.Prefix, a netip.Addr) bool {
	if !p.IsValid() {
		return true
	}
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return p.Contains(a)
}

func (r *Request) validate() error {
	if _, err := r.families(); err != nil {
		return err
	}
	for _, p := range []netip.Prefix{r.Src, r.Dst} {
		if p.IsValid() && p.Addr().Zone() != "" {
			return fmt.Errorf("invalid address filter %s: zones are not supported", p)
		}
	}
	return nil
}
