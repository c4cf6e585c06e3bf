package e2e

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// liveSubflows returns the established subflows of the only MPTCP
// connection in ns, or nil when there is not exactly one connection.
func liveSubflows(t *testing.T, ns *nstest.NS) []diag.TCPSocket {
	t.Helper()
	conns := diagConnections(t, ns)
	if len(conns) != 1 {
		return nil
	}
	var out []diag.TCPSocket
	for _, s := range conns[0].Subflows {
		if s.State == diag.StateEstablished {
			out = append(out, s)
		}
	}
	return out
}

// waitFor polls cond every 100 ms until it returns true or timeout passes,
// then fails the test with what.
func waitFor(t *testing.T, timeout time.Duration, what string, d *daemon, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			log := ""
			if d != nil {
				log = "\ndaemon log:\n" + d.logText()
			}
			t.Fatalf("timed out after %s waiting for %s%s", timeout, what, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countFrom returns how many subflows have src as their local address.
func countFrom(subflows []diag.TCPSocket, src netip.Addr) int {
	n := 0
	for _, s := range subflows {
		if s.ID.Src.Addr().Unmap() == src {
			n++
		}
	}
	return n
}

// countTo returns how many subflows have dst as their remote address.
func countTo(subflows []diag.TCPSocket, dst netip.Addr) int {
	n := 0
	for _, s := range subflows {
		if s.ID.Dst.Addr().Unmap() == dst {
			n++
		}
	}
	return n
}

// sender writes to c in the background until stopped.
type sender struct {
	conn net.Conn
	stop atomic.Bool
	done chan error
}

func startSender(c net.Conn) *sender {
	s := &sender{conn: c, done: make(chan error, 1)}
	go func() {
		buf := make([]byte, 64<<10)
		for !s.stop.Load() {
			if _, err := c.Write(buf); err != nil {
				s.done <- err
				return
			}
		}
		s.done <- nil
	}()
	return s
}

func (s *sender) halt(t *testing.T) {
	t.Helper()
	s.stop.Store(true)
	// A write blocked on a full send buffer returns at the deadline.
	s.conn.SetWriteDeadline(time.Now().Add(time.Second))
	select {
	case err := <-s.done:
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("sender: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("sender did not stop within 5s")
	}
}

// labDaemon starts the daemon in the lab's client namespace with args and
// returns it with the path of its record directory.
func labDaemon(t *testing.T, ns *nstest.NS, args ...string) (*daemon, string) {
	t.Helper()
	record := filepath.Join(t.TempDir(), "run")
	all := append([]string{"run", "--record", record, "--diag-interval", "200ms"}, args...)
	return startDaemon(t, ns, all...), record
}

func serverAddr(lab *nstest.Lab, port int) string {
	return netip.AddrPortFrom(lab.Paths[0].ServerAddr, uint16(port)).String()
}

func mustContain(t *testing.T, text, want, what string) {
	t.Helper()
	if !strings.Contains(text, want) {
		t.Errorf("%s lacks %q:\n%s", what, want, text)
	}
}

func nft(t *testing.T, ns *nstest.NS, rules ...string) {
	t.Helper()
	for _, r := range rules {
		args := append([]string{}, strings.Fields(r)...)
		if out, err := ns.Output("nft", args...); err != nil {
			t.Fatalf("nft %s: %v %s", r, err, out)
		}
	}
}

func countFromString(subflows []diag.TCPSocket, src string) int {
	return countFrom(subflows, netip.MustParseAddr(src))
}
