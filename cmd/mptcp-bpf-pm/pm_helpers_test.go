package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// pmCLI runs the command line args with rootCmd and returns its output.
// Flags of the path-manager commands are reset first, because cobra
// keeps their values between runs.
func pmCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	for _, c := range []*cobra.Command{endpointCmd, limitsCmd, subflowCmd,
		announceCmd, removeCmd, setFlagsCmd, monitorCmd} {
		pmResetFlags(c)
	}
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	defer func() {
		rootCmd.SetOut(nil)
		rootCmd.SetErr(nil)
		rootCmd.SetArgs(nil)
	}()
	err := rootCmd.Execute()
	return out.String(), err
}

func pmResetFlags(c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		_ = f.Value.Set(f.DefValue)
		f.Changed = false
	})
	for _, sub := range c.Commands() {
		pmResetFlags(sub)
	}
}

// pmMustCLI runs args and fails the test on error.
func pmMustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := pmCLI(t, args...)
	if err != nil {
		t.Fatalf("mptcp-bpf-pm %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// pmFields splits text into lines of single-space separated words.
func pmFields(s string) []string {
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return lines
}

// pmLab is a lab with an MPTCP echo server on port 7100 in the server
// namespace and a Client in the client namespace.
type pmLab struct {
	*nstest.Lab
	t      *testing.T
	client *pm.Client
}

const pmPort = 7100

func newPMCLILab(t *testing.T, opts nstest.LabOptions) *pmLab {
	t.Helper()
	lab := nstest.NewLab(t, opts)
	l := &pmLab{Lab: lab, t: t}
	var err error
	l.client, err = pm.Dial(pmConfig(t, lab.Client))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { l.client.Close() })
	pmServe(t, lab.Server, pmPort)
	return l
}

func pmConfig(t *testing.T, ns *nstest.NS) *pm.Config {
	t.Helper()
	f, err := os.Open(ns.Path())
	if err != nil {
		t.Fatalf("open netns: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &pm.Config{NetNS: int(f.Fd())}
}

// pmServe echoes on MPTCP connections to port in ns.
func pmServe(t *testing.T, ns *nstest.NS, port int) {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf(":%d", port))
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
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

// connect opens an MPTCP connection over path 0, exchanges a byte so that
// it is fully established, and returns it with its local address.
func (l *pmLab) connect() (net.Conn, netip.AddrPort) {
	l.t.Helper()
	var c net.Conn
	err := l.Client.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second,
			LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(l.Paths[0].ClientAddr, 0))}
		d.SetMultipathTCP(true)
		c, err = d.Dial("tcp", l.ServerAddrPort(pmPort).String())
		return err
	})
	if err != nil {
		l.t.Fatalf("dial: %v", err)
	}
	l.t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{1}); err != nil {
		l.t.Fatalf("write: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		l.t.Fatalf("read: %v", err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, netip.MustParseAddrPort(c.LocalAddr().String())
}

// pmBuf is a buffer shared by a writer goroutine or process and the test.
type pmBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *pmBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *pmBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *pmBuf) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

// pmWaitLine waits until buf has a line containing every part.
func pmWaitLine(t *testing.T, what string, buf *pmBuf, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(buf.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return line
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s printed no line with %q; output:\n%s", what, parts, buf.String())
	return ""
}

// pmStartIPMonitor runs "ip mptcp monitor" in ns until the test ends.
func pmStartIPMonitor(t *testing.T, ns *nstest.NS) *pmBuf {
	t.Helper()
	buf := &pmBuf{}
	cmd := ns.Command("ip", "mptcp", "monitor")
	cmd.Stdout = buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ip mptcp monitor: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return buf
}

// pmProbe opens and closes MPTCP listeners in ns until every buffer
// shows a LISTENER_CLOSED event, which iproute2 6.1 prints as
// "[UNKNOWN 16]". Then it empties the buffers.
func pmProbe(t *testing.T, ns *nstest.NS, bufs ...*pmBuf) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
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
		time.Sleep(50 * time.Millisecond)
		ready := true
		for _, b := range bufs {
			s := strings.ToUpper(b.String())
			ready = ready && (strings.Contains(s, "LISTENER_CLOSED") ||
				strings.Contains(s, "UNKNOWN 16"))
		}
		if ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitors printed no probe event")
		}
	}
	for _, b := range bufs {
		b.Reset()
	}
}
