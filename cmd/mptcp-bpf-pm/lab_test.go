package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary builds this command once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "mptcp-bpf-pm-test-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, "mptcp-bpf-pm"), ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build mptcp-bpf-pm: %v", buildErr)
	}
	return filepath.Join(buildDir, "mptcp-bpf-pm")
}

// runFlags reports which optional flags of "run" the binary has, so that
// the tests use the control socket and metrics once the daemon serves
// them.
func runFlags(t *testing.T, bin string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, "run", "--help").CombinedOutput()
	has := map[string]bool{}
	for _, f := range []string{"control-socket", "metrics-addr", "metrics-subflows"} {
		has[f] = strings.Contains(string(out), "--"+f+" ")
	}
	return has
}

// labDaemon is the daemon running in a lab's client namespace.
type labDaemon struct {
	cmd  *exec.Cmd
	done chan error
	log  strings.Builder
	mu   sync.Mutex
}

// startLabDaemon starts "run" with args in ns and waits for "daemon
// ready". The daemon is stopped at cleanup.
func startLabDaemon(t *testing.T, ns *nstest.NS, bin string, args ...string) *labDaemon {
	t.Helper()
	d := &labDaemon{cmd: ns.Command(bin, append([]string{"run"}, args...)...), done: make(chan error, 1)}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.OnceFunc(func() { close(ready) })
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if strings.Contains(sc.Text(), "daemon ready") {
				once()
			}
		}
		d.done <- d.cmd.Wait()
	}()
	t.Cleanup(func() { d.stop(t) })
	select {
	case <-ready:
		return d
	case err := <-d.done:
		d.done <- err
		t.Fatalf("daemon exited before it was ready: %v\n%s", err, d.logText())
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready after 15s:\n%s", d.logText())
	}
	return nil
}

func (d *labDaemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and waits; it is safe to call twice.
func (d *labDaemon) stop(t *testing.T) {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("daemon exit: %v\n%s", err, d.logText())
		}
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("daemon did not stop within 10s of SIGTERM")
	}
}

// bulkTransfer opens an MPTCP connection from the lab's client to its
// server and sends on it until ctx is done.
func bulkTransfer(ctx context.Context, t *testing.T, lab *nstest.Lab, port uint16) {
	t.Helper()
	addr := lab.ServerAddrPort(port).String()
	var ln net.Listener
	err := lab.Server.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	var conn net.Conn
	err = lab.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		var err error
		conn, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 64<<10)
		for ctx.Err() == nil {
			conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := conn.Write(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	}()
}

// waitSubflows polls inet_diag in ns until one connection has n subflows.
func waitSubflows(t *testing.T, ns *nstest.NS, n int) diag.Connection {
	t.Helper()
	f, err := os.Open(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conns, err := c.Connections(diag.Request{})
		if err != nil {
			t.Fatal(err)
		}
		if len(conns) == 1 && len(conns[0].Subflows) == n {
			return conns[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection with %d subflows after 10s: %d connections", n, len(conns))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// subflowPaths returns "local -> remote" of each subflow, as top shows it.
func subflowPaths(c diag.Connection) []string {
	var out []string
	for _, s := range c.Subflows {
		out = append(out, s.ID.Src.Addr().Unmap().String()+" -> "+s.ID.Dst.Addr().Unmap().String())
	}
	return out
}
