package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// daemonProc is the path manager running in the client namespace.
type daemonProc struct {
	cmd   *exec.Cmd
	ready chan struct{}
	done  chan error
}

// startDaemon starts the daemon and waits until it logs that it is ready.
func startDaemon(ctx context.Context, cmd *exec.Cmd, verbose bool) (*daemonProc, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	p := &daemonProc{cmd: cmd, ready: make(chan struct{}), done: make(chan error, 1)}
	go p.forwardLog(stderr, verbose)
	select {
	case <-p.ready:
		return p, nil
	case err := <-p.done:
		return nil, fmt.Errorf("daemon exited before it was ready: %v", err)
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, errors.New("daemon not ready after 15s")
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// forwardLog copies the daemon's log to our stderr: every line with -v,
// else warnings and errors only. It closes ready at "daemon ready".
func (p *daemonProc) forwardLog(r io.Reader, verbose bool) {
	sc := bufio.NewScanner(r)
	ready := false
	for sc.Scan() {
		line := sc.Text()
		if !ready && strings.Contains(line, "daemon ready") {
			ready = true
			close(p.ready)
		}
		if verbose || strings.Contains(line, "level=warn") || strings.Contains(line, "level=error") {
			fmt.Fprintln(os.Stderr, "   [daemon]", line)
		}
	}
	p.done <- p.cmd.Wait()
}

// stop sends SIGTERM and returns the daemon's exit error, killing it after
// 10 s.
func (p *daemonProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("daemon did not stop within 10s of SIGTERM, killed")
	}
}

// waitListening polls until something listens on port in the namespace.
func waitListening(ctx context.Context, ss func() (string, error), port int) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := ss()
		if err == nil && strings.Contains(out, fmt.Sprintf(":%d", port)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not listening on port %d after 5s", port)
}
