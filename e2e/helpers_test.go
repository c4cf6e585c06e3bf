package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// daemon is an mptcp-bpf-pm process started by a test.
type daemon struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{} // closed when the process has exited
	err    error         // exit error, set before exited closes
}

// startDaemon runs the daemon in ns with args and waits for "daemon
// ready". The process is killed at cleanup if the test has not stopped it.
func startDaemon(t *testing.T, ns *nstest.NS, args ...string) *daemon {
	t.Helper()
	cmd := ns.Command(daemonBin, args...)
	if len(args) > 0 && args[0] == "capsh" {
		// The daemon runs under capsh, which args name in full.
		cmd = ns.Command(args[0], args[1:]...)
	}
	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			d.mu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if strings.Contains(sc.Text(), "daemon ready") {
				once.Do(func() { close(ready) })
			}
		}
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		// Stop the daemon the way an operator would, so that it
		// removes its control socket and detaches its programs.
		select {
		case <-d.exited:
			return
		default:
		}
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
		}
	})
	select {
	case <-ready:
	case <-d.exited:
		t.Fatalf("daemon exited before ready: %v\n%s", d.err, d.logText())
	case <-time.After(15 * time.Second):
		t.Fatalf("daemon not ready after 15s\n%s", d.logText())
	}
	return d
}

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and returns the exit error.
func (d *daemon) stop(t *testing.T) error {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return d.err
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		t.Fatalf("daemon ignored SIGTERM for 10s\n%s", d.logText())
		return nil
	}
}

// mptcpServer listens with MPTCP on port in ns and discards what it reads.
func mptcpServer(t *testing.T, ns *nstest.NS, port string) {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		lc := net.ListenConfig{}
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp", ":"+port)
		return err
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
}

// mptcpDial opens an MPTCP connection from ns and fails unless the kernel
// really uses MPTCP for it.
func mptcpDial(t *testing.T, ns *nstest.NS, addr string) *net.TCPConn {
	t.Helper()
	var c net.Conn
	err := ns.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		d.SetMultipathTCP(true)
		c, err = d.Dial("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	tc := c.(*net.TCPConn)
	t.Cleanup(func() { tc.Close() })
	if ok, err := tc.MultipathTCP(); !ok || err != nil {
		t.Fatalf("connection to %s is not MPTCP (err %v)", addr, err)
	}
	// The client side of a connection is fully established, and so
	// gets its ESTABLISHED event and may open subflows, only once data
	// has been acknowledged.
	if _, err := tc.Write(make([]byte, 1024)); err != nil {
		t.Fatalf("write to %s: %v", addr, err)
	}
	return tc
}

// sendFor writes zeros to c until d elapses.
func sendFor(c net.Conn, d time.Duration) error {
	buf := make([]byte, 64<<10)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// diagConnections dumps the MPTCP connections of ns.
func diagConnections(t *testing.T, ns *nstest.NS) []diag.Connection {
	t.Helper()
	f, err := os.Open(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatalf("open inet_diag in %s: %v", ns.Name, err)
	}
	defer c.Close()
	conns, err := c.Connections(diag.Request{})
	if err != nil {
		t.Fatalf("dump connections in %s: %v", ns.Name, err)
	}
	return conns
}

// statLine is the part of a recorded stats.jsonl line the tests check.
type statLine struct {
	Source  string `json:"source"`
	Token   uint32 `json:"token"`
	Cookie  uint64 `json:"cookie"`
	Local   string `json:"local"`
	Remote  string `json:"remote"`
	LocalID int    `json:"local_id"`
	SRTTUs  uint32 `json:"srtt_us"`
	SndCwnd uint32 `json:"snd_cwnd"`
}

func readStats(t *testing.T, path string) []statLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []statLine
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var s statLine
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatalf("%s: invalid line %q: %v", path, line, err)
		}
		out = append(out, s)
	}
	return out
}
