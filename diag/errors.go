package diag

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Errors for errors.Is. A kernel error matches ErrNotFound when its errno
// is ENOENT, the answer of Linux 6.18 to a lookup whose socket or token
// does not exist, or ESTALE, which sock_diag_check_cookie returns for a
// cookie mismatch.
var (
	ErrNotFound  = errors.New("socket not found")
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
