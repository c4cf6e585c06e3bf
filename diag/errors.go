package diag

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Errors for errors.Is.
var (
	// ErrNotFound matches a kernel error whose errno is ENOENT, which
	// Linux 6.18 returns for a lookup whose socket or token does not
	// exist, or ESTALE, which sock_diag_check_cookie returns for a
	// cookie mismatch.
	ErrNotFound = errors.New("socket not found")

	// ErrTruncated is wrapped by the errors for replies that do not
	// parse: a netlink message or attribute longer than its data, a
	// reply shorter than struct inet_diag_msg, or a datagram larger than
	// the receive buffer.
	ErrTruncated = errors.New("netlink message truncated")
)

// An OpError is a sock_diag request that the kernel rejected.
type OpError struct {
	Op      string     // request, such as "dump TCP sockets"
	Errno   unix.Errno // errno returned by the kernel
	Message string     // extended ack text; often empty
	Offset  uint32     // byte offset of the offending attribute, 0 if unknown
}

func (e *OpError) Error() string {
	s := fmt.Sprintf("%s: %v", e.Op, e.Errno)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the errno, so errors.Is(err, unix.ENOENT) works.
func (e *OpError) Unwrap() error { return e.Errno }

// Is reports whether target is ErrNotFound and the errno is ENOENT or
// ESTALE.
func (e *OpError) Is(target error) bool {
	return target == ErrNotFound && (e.Errno == unix.ENOENT || e.Errno == unix.ESTALE)
}
