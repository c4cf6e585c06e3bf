package pm_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/pm"
)

// testPort is the MPTCP server port in every lab.
const testPort = 7100

// pmLab is an nstest lab with a Client and an EventConn in the client
// namespace and an MPTCP server listening on all server addresses.
type pmLab struct {
	*nstest.Lab
	t      *testing.T
	client *pm.Client
	events *eventStream
}

func newPMLab(t *testing.T, opts nstest.LabOptions) *pmLab {
	t.Helper()
	lab := nstest.NewLab(t, opts)
	l := &pmLab{Lab: lab, t: t}

	cfg := nsConfig(t, lab.Client)
	var err error
	l.events = listenEvents(t, cfg)
	l.client, err = pm.Dial(cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { l.client.Close() })

	serveMPTCP(t, lab.Server, testPort)
	return l
}

// nsConfig returns a Config for ns; the namespace file stays open until
// the test ends.
func nsConfig(t *testing.T, ns *nstest.NS) *pm.Config {
	t.Helper()
	f, err := os.Open(ns.Path())
	if err != nil {
		t.Fatalf("open netns: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &pm.Config{NetNS: int(f.Fd())}
}

// serveMPTCP accepts MPTCP connections on port in ns and echoes data.
func serveMPTCP(t *testing.T, ns *nstest.NS, port int) {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(context.Background(), "tcp",
			fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("listen in %s: %v", ns.Name, err)
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

// dialMPTCP opens an MPTCP connection from the client namespace.
func (l *pmLab) dialMPTCP(local netip.Addr, remote netip.AddrPort) net.Conn {
	l.t.Helper()
	var c net.Conn
	err := l.Client.Do(func() (err error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		d.SetMultipathTCP(true)
		if local.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(
				netip.AddrPortFrom(local, 0))
		}
		c, err = d.Dial("tcp", remote.String())
		return err
	})
	if err != nil {
		l.t.Fatalf("dial MPTCP %s: %v", remote, err)
	}
	l.t.Cleanup(func() { c.Close() })
	return c
}

// connect opens an MPTCP connection over path 0 and returns it with the
// client's token from its ESTABLISHED event.
func (l *pmLab) connect() (net.Conn, uint32) {
	l.t.Helper()
	c := l.dialMPTCP(l.Paths[0].ClientAddr, l.ServerAddrPort(testPort))
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	// The client sends ESTABLISHED once the connection is fully
	// established, which takes a data exchange.
	ping(l.t, c)
	ev := l.events.wait(l.t, "ESTABLISHED of the new connection",
		func(e pm.Event) bool {
			return e.Type == pm.EventEstablished &&
				e.Local.Port() == local.Port()
		})
	return c, ev.Token
}

// eventStream reads events in a goroutine.
type eventStream struct {
	conn *pm.EventConn
	ch   chan pm.Event
	errc chan error
	seen []pm.Event
	used []bool // used[i]: seen[i] was returned by wait
}

func listenEvents(t *testing.T, cfg *pm.Config) *eventStream {
	t.Helper()
	ec, err := pm.ListenEvents(cfg)
	if err != nil {
		t.Fatalf("listen events: %v", err)
	}
	s := &eventStream{conn: ec, ch: make(chan pm.Event, 1024),
		errc: make(chan error, 16)}
	t.Cleanup(func() { ec.Close() })
	go s.run()
	return s
}

func (s *eventStream) run() {
	for {
		evs, err := s.conn.Receive()
		for _, e := range evs {
			s.ch <- e
		}
		if err != nil {
			select {
			case s.errc <- err:
			default:
			}
			if !isLost(err) {
				close(s.ch)
				return
			}
		}
	}
}

func isLost(err error) bool {
	return err == pm.ErrEventsLost
}

// wait returns the first event not returned before that matches. Events
// read while waiting are kept in seen for later waits.
func (s *eventStream) wait(t *testing.T, what string,
	match func(pm.Event) bool) pm.Event {
	t.Helper()
	for i, e := range s.seen {
		if !s.used[i] && match(e) {
			s.used[i] = true
			return e
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-s.ch:
			if !ok {
				t.Fatalf("event stream ended while waiting for %s: %v",
					what, <-s.errc)
			}
			s.seen = append(s.seen, e)
			s.used = append(s.used, match(e))
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s; seen: %s", what,
				eventsString(s.seen))
		}
	}
}

func eventsString(evs []pm.Event) string {
	var sb strings.Builder
	for i := range evs {
		sb.WriteString("\n\t" + evs[i].String())
	}
	return sb.String()
}

// ping writes one byte and reads the echo.
func ping(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatalf("write: %v", err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	_ = c.SetDeadline(time.Time{})
}
