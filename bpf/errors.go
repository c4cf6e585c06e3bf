package bpf

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
)

// ErrUnsupported is matched (errors.Is) by the error of Load when no
// program variant could be loaded and attached here: no kernel BTF, no
// CAP_BPF and CAP_PERFMON, a kernel older than 5.8, or a verifier that
// rejects the programs. Callers fall back to polling inet_diag.
var ErrUnsupported = errors.New("BPF statistics not supported on this system")

// LoadError lists why each program variant failed to load or attach.
type LoadError struct {
	Attempts []ModeError
}

// ModeError is the failure of one program variant.
type ModeError struct {
	Mode string
	Err  error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(ErrUnsupported.Error())
	denied := false
	for _, a := range e.Attempts {
		fmt.Fprintf(&b, "; %s: %v", a.Mode, a.Err)
		denied = denied || errors.Is(a.Err, os.ErrPermission)
	}
	if denied {
		b.WriteString(" (run as root, or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnsupported) true.
func (e *LoadError) Is(target error) bool { return target == ErrUnsupported }

// Unwrap returns the error of every attempt, so errors.Is also finds
// causes such as os.ErrPermission.
func (e *LoadError) Unwrap() []error {
	errs := make([]error, len(e.Attempts))
	for i, a := range e.Attempts {
		errs[i] = a.Err
	}
	return errs
}

// verboseError keeps err for errors.Is and errors.As but prints the
// whole verifier log, which %v of *ebpf.VerifierError shortens to its
// last line.
type verboseError struct {
	err error
	msg string
}

func (e *verboseError) Error() string { return e.msg }
func (e *verboseError) Unwrap() error { return e.err }

// withVerifierLog adds the full verifier log to err when it has one.
func withVerifierLog(err error) error {
	var ve *ebpf.VerifierError
	if !errors.As(err, &ve) {
		return err
	}
	return &verboseError{err: err, msg: fmt.Sprintf("%v\nverifier log:\n%+v", err, ve)}
}
