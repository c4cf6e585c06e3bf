package pm_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
	"golang.org/x/sys/unix"
)

// syncBuf is a bytes.Buffer safe for a writing process and a reading
// test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ipMonitor runs "ip mptcp monitor" in a namespace.
type ipMonitor struct {
	ns  *nstest.NS
	out syncBuf
}

// startIPMonitor starts "ip mptcp monitor" in ns and returns once it
// prints events: it opens a probe MPTCP listener until the monitor
// reports it.
func startIPMonitor(t *testing.T, ns *nstest.NS) *ipMonitor {
	t.Helper()
	m := &ipMonitor{ns: ns}
	cmd := ns.Command("ip", "mptcp", "monitor")
	cmd.Stdout = &m.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ip mptcp monitor: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	deadline := time.Now().Add(5 * time.Second)
	// iproute2 6.1 prints LISTENER_CLOSED as "[UNKNOWN 16]".
	for !containsAny(m.out.String(), "LISTENER_CLOSED", "UNKNOWN 16") {
		if time.Now().After(deadline) {
			t.Fatalf("ip mptcp monitor in %s printed no probe event", ns.Name)
		}
		probeListener(t, ns)
		time.Sleep(50 * time.Millisecond)
	}
	m.out.Reset()
	return m
}

// probeListener opens and closes an MPTCP listener in ns, which sends
// LISTENER_CREATED and LISTENER_CLOSED.
func probeListener(t *testing.T, ns *nstest.NS) {
	t.Helper()
	err := ns.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		return ln.Close()
	})
	if err != nil {
		t.Fatalf("probe listener: %v", err)
	}
}

// wait returns the first line that contains every part.
func (m *ipMonitor) wait(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(m.out.String(), "\n") {
			if containsAll(line, parts) {
				return line
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("ip mptcp monitor in %s printed no line with %q; output:\n%s",
		m.ns.Name, parts, m.out.String())
	return ""
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// wantKernelError checks that err is a *pm.Error with errno and message.
func wantKernelError(t *testing.T, err error, errno unix.Errno, msg string) {
	t.Helper()
	var pe *pm.Error
	if !errors.As(err, &pe) {
		t.Errorf("error = %v, want *pm.Error %q", err, msg)
		return
	}
	if pe.Errno != errno {
		t.Errorf("errno = %s, want %s (%v)", unix.ErrnoName(pe.Errno), unix.ErrnoName(errno), err)
	}
	if pe.Message != msg {
		t.Errorf("kernel message = %q, want %q (%v)", pe.Message, msg, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error text %q does not contain %q", err, msg)
	}
	if !errors.Is(err, errno) {
		t.Errorf("errors.Is(%v, %s) = false", err, unix.ErrnoName(errno))
	}
}

func containsAny(s string, parts ...string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
