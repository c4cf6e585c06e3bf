package pm

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/mdlayher/netlink"
)

// Local is a local address as the path manager stores it: an endpoint of
// the in-kernel PM table, or an entry of a userspace-PM connection's
// local address list.
type Local struct {
	// Addr is IPv4 or IPv6. An IPv4-mapped IPv6 address is sent as
	// AF_INET6, which matters for dual-stack subflow sockets.
	Addr netip.Addr
	// Port is 0 when unset. For SubflowCreate it is the local port to
	// bind; for endpoints and Announce the port to announce.
	Port uint16
	// ID is the MPTCP address id, 0..255. Id 0 is the address of the
	// initial subflow.
	ID uint8
	// IfIndex binds subflows to a device; 0 means any device.
	IfIndex int32
	Flags   AddrFlags
}

// String formats l like "ip mptcp endpoint show": "10.0.0.1 port 80 id 1
// signal ifindex 2"; fields that are 0 are left out, except the id.
func (l Local) String() string {
	var sb strings.Builder
	if l.Addr.IsValid() {
		sb.WriteString(l.Addr.String() + " ")
	}
	if l.Port != 0 {
		fmt.Fprintf(&sb, "port %d ", l.Port)
	}
	fmt.Fprintf(&sb, "id %d", l.ID)
	for _, n := range l.Flags.Names() {
		sb.WriteString(" " + n)
	}
	if l.IfIndex != 0 {
		fmt.Fprintf(&sb, " ifindex %d", l.IfIndex)
	}
	return sb.String()
}

// newRequest encodes the attributes written by fn into a request.
func newRequest(op string, cmd uint8, subject string,
	fn func(ae *netlink.AttributeEncoder)) (*request, error) {
	ae := netlink.NewAttributeEncoder()
	if fn != nil {
		fn(ae)
	}
	b, err := ae.Encode()
	if err != nil {
		return nil, fmt.Errorf("%s: encode attributes: %w", op, err)
	}
	return &request{op: op, subject: subject, cmd: cmd, attrs: b}, nil
}

// remoteLocal turns a remote address and port into the fields of an
// address nest. The id is not used by the kernel for remotes.
func remoteLocal(ap netip.AddrPort) Local {
	return Local{Addr: ap.Addr(), Port: ap.Port()}
}

func tokenString(token uint32) string {
	return fmt.Sprintf("token %08x", token)
}

func addrPortString(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String()
	}
	return ap.String()
}
