package optimizer

import (
	"errors"
	"fmt"
	"time"
)

// ExitError is a program that exited with a non-zero status or could not
// be started.
type ExitError struct {
	Program string
	// Code is the exit status, or -1 when a signal ended the program or
	// it did not start.
	Code   int
	Stderr string // last bytes of standard error
	Err    error  // from os/exec
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("optimizer %s failed: %v%s",
		e.Program, e.Err, stderrSuffix(e.Stderr))
}

func (e *ExitError) Unwrap() error { return e.Err }

// TimeoutError is a program that ran past its timeout or whose context
// ended. Its process group was killed.
type TimeoutError struct {
	Program string
	Timeout time.Duration
	Stderr  string
	Err     error // context.DeadlineExceeded or context.Canceled
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("optimizer %s timed out after %v and was killed%s",
		e.Program, e.Timeout, stderrSuffix(e.Stderr))
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// OutputError is standard output that is not one JSON array.
type OutputError struct {
	Program string
	Head    string // first 200 bytes of stdout
	Err     error
}

func (e *OutputError) Error() string {
	return fmt.Sprintf("optimizer %s printed invalid output: %v;"+
		" expected a JSON array of integers; output starts %q",
		e.Program, e.Err, e.Head)
}

func (e *OutputError) Unwrap() error { return e.Err }

// CountError is an array whose length differs from the subflow count.
type CountError struct {
	Program   string
	Got, Want int
}

func (e *CountError) Error() string {
	return fmt.Sprintf("optimizer %s printed %d caps for %d subflows;"+
		" expected one per subflow", e.Program, e.Got, e.Want)
}

// CapError is one value of the array that is not a valid cap.
type CapError struct {
	Program string
	Index   int    // position in the array
	Value   string // the JSON text of the value
	Max     uint32
}

func (e *CapError) Error() string {
	return fmt.Sprintf("optimizer %s printed invalid cap %s at index %d;"+
		" expected an integer from 0 to %d", e.Program, e.Value,
		e.Index, e.Max)
}

// Reason returns a short word for the kind of err, for a log field:
// "exit", "timeout", "output", "count", "cap", or "other".
func Reason(err error) string {
	var (
		exit    *ExitError
		timeout *TimeoutError
		output  *OutputError
		count   *CountError
		capErr  *CapError
	)
	switch {
	case errors.As(err, &timeout):
		return "timeout"
	case errors.As(err, &exit):
		return "exit"
	case errors.As(err, &output):
		return "output"
	case errors.As(err, &count):
		return "count"
	case errors.As(err, &capErr):
		return "cap"
	}
	return "other"
}

func stderrSuffix(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("; stderr: %q", s)
}
