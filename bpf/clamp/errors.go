package clamp

import "errors"

var errClosed = errors.New("cwnd clamp is closed")

// Errors that Attach wraps, for errors.Is.
var (
	// ErrNoCgroup2 means the path is not a cgroup v2 directory, or no
	// cgroup2 file system is mounted when no path is given.
	ErrNoCgroup2 = errors.New("no cgroup v2")

	// ErrNoBPF means the sock_ops program could not be loaded or
	// attached: no CAP_BPF and CAP_NET_ADMIN, no kernel BTF, or a
	// verifier that rejects it.
	ErrNoBPF = errors.New("cannot load the BPF cwnd clamp")
)
