package pm

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrEventsLost is returned by EventConn.Receive after the kernel dropped
// events because the socket receive buffer was full (ENOBUFS). The
// socket stays usable, but the kernel keeps dropping new events until
// the queued ones are read, so keep reading, then resynchronise state
// from sock_diag.
var ErrEventsLost = errors.New("mptcp_pm events lost: socket receive " +
	"buffer overflowed (ENOBUFS)")

// Error is a request that the kernel rejected. It unwraps to Errno, so
// errors.Is(err, unix.EINVAL) works.
type Error struct {
	// Op names the request, such as "subflow create".
	Op string
	// Request describes the values sent, such as
	// "token 0x1a2b3c4d local 10.0.0.1 id 1 remote 10.0.0.2:80".
	Request string
	Errno   unix.Errno
	// Message is the kernel's extended-ack text; empty when the kernel
	// gave none (missing attributes and EPERM come without text).
	Message string
	// Offset is the byte offset, from the start of the netlink header,
	// of the attribute the kernel rejected; 0 if it named none.
	Offset uint32
	// Attr names the attribute at Offset, such as "ADDR_REMOTE" or
	// "ADDR.FAMILY".
	Attr string
	// MissingAttr is the type of a required attribute that was absent
	// (NLMSGERR_ATTR_MISS_TYPE); 0 if none.
	MissingAttr uint16
	// MissingNest is the offset of the nest that lacks MissingAttr
	// (NLMSGERR_ATTR_MISS_NEST); 0 when it is a top-level attribute.
	MissingNest uint32
	// MissingName names the missing attribute, such as "ADDR_REMOTE".
	MissingName string
	// Policy is the attribute type the kernel's policy expected, such as
	// "u32", when validation failed (NLMSGERR_ATTR_POLICY).
	Policy string
}

// Error returns a message with the request, the kernel's reason and the
// errno, such as "subflow create token 0x1a2b3c4d ...: invalid token
// (kernel: invalid token at TOKEN, errno EINVAL)".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString(e.Op)
	if e.Request != "" {
		sb.WriteString(" " + e.Request)
	}
	sb.WriteString(": " + e.reason())

	sb.WriteString(" (")
	if e.Message != "" {
		fmt.Fprintf(&sb, "kernel: %s", e.Message)
		if e.Attr != "" {
			fmt.Fprintf(&sb, " at %s", e.Attr)
		}
		if e.Policy != "" {
			fmt.Fprintf(&sb, ", expected %s", e.Policy)
		}
		sb.WriteString(", ")
	}
	fmt.Fprintf(&sb, "errno %s)", errnoName(e.Errno))

	if h := e.hint(); h != "" {
		sb.WriteString("; " + h)
	}
	return sb.String()
}

func (e *Error) reason() string {
	switch {
	case e.MissingAttr != 0:
		return "missing attribute " + e.MissingName
	case e.Message != "":
		return e.Message
	default:
		return e.Errno.Error()
	}
}

// hint suggests the fix for errors whose kernel text does not.
func (e *Error) hint() string {
	switch {
	case e.Errno == unix.EPERM:
		return "needs CAP_NET_ADMIN in the network namespace"
	case e.Message == "invalid token":
		return "no MPTCP connection has this token in this network " +
			"namespace; use the token of a CREATED event"
	case e.Message == "userspace PM not selected":
		return "the connection uses the in-kernel path manager; set " +
			"net.mptcp.pm_type=1 before it is created"
	}
	return ""
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

func errnoName(n unix.Errno) string {
	if name := unix.ErrnoName(n); name != "" {
		return name
	}
	return fmt.Sprintf("%d", int(n))
}
