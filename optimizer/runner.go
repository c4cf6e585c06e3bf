package optimizer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// Defaults and limits of a Runner.
const (
	// DefaultTimeout is used when Runner.Timeout is 0. It is below the
	// daemon's default interval of 300 ms, so rounds do not overlap.
	DefaultTimeout = 250 * time.Millisecond
	// DefaultMaxCap is used when Runner.MaxCap is 0: 2^20 segments, about
	// 1.5 GB in flight at a 1448-byte MSS, beyond any real cwnd.
	DefaultMaxCap = 1 << 20
	// MaxOutput is the most stdout a program may print, in bytes.
	MaxOutput = 64 << 10

	stderrTail = 512
	headLen    = 200
	// killGrace bounds the wait for the killed process to be reaped and
	// for its pipes to close.
	killGrace = 100 * time.Millisecond
)

// Runner runs one optimizer program. The zero value is not valid: set
// Program. A Runner may be used by several goroutines at once; each Run
// starts its own process.
type Runner struct {
	// Program is the executable, a path or a name looked up in $PATH.
	Program string
	Args    []string
	// Timeout bounds one run, start to exit; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxCap is the largest cap accepted, in segments; 0 means
	// DefaultMaxCap.
	MaxCap uint32
}

// Run writes in as JSON to the program's stdin and returns one cap per
// subflow of in, in segments, 0 for no cap. It returns after at most
// Timeout plus about 100 ms, when ctx ends, or when the program exits,
// and it kills the program's whole process group in every case. The
// error types are listed in the package documentation.
func (r *Runner) Run(ctx context.Context, in Input) ([]uint32, error) {
	stdin, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode optimizer input: %w", err)
	}
	stdin = append(stdin, '\n')

	out, err := r.exec(ctx, stdin)
	if err != nil {
		return nil, err
	}
	return r.parse(out, len(in.Subflows))
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func (r *Runner) maxCap() uint32 {
	if r.MaxCap > 0 {
		return r.MaxCap
	}
	return DefaultMaxCap
}

// exec runs the program and returns its stdout.
func (r *Runner) exec(ctx context.Context, stdin []byte) (*headBuffer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()

	cmd := exec.Command(r.Program, r.Args...)
	cmd.Stdin = bytes.NewReader(stdin)
	stdout := &headBuffer{max: MaxOutput}
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A process outside the group may still hold the pipes.
	cmd.WaitDelay = killGrace
	if err := cmd.Start(); err != nil {
		return nil, &ExitError{Program: r.Program, Code: -1, Err: err}
	}

	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		killGroup(pgid)
		return stdout, r.exitError(err, stderr)
	case <-ctx.Done():
		killGroup(pgid)
		return nil, r.timeoutError(ctx.Err(), done, stderr)
	}
}

// killGroup sends SIGKILL to every process left in the program's group.
// ESRCH means none is left.
func killGroup(pgid int) {
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

func (r *Runner) exitError(err error, stderr *tailBuffer) error {
	if err == nil || errors.Is(err, exec.ErrWaitDelay) {
		return nil
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	return &ExitError{Program: r.Program, Code: code,
		Stderr: string(stderr.buf), Err: err}
}

// timeoutError waits up to killGrace for the killed program to be reaped.
// Its stderr is read only after that, because os/exec may write to the
// buffer until Wait returns.
func (r *Runner) timeoutError(cause error, done <-chan error,
	stderr *tailBuffer) error {
	e := &TimeoutError{Program: r.Program, Timeout: r.timeout(), Err: cause}
	select {
	case <-done:
		e.Stderr = string(stderr.buf)
	case <-time.After(killGrace):
	}
	return e
}
