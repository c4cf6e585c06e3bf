package shape_test

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// flow is one MPTCP connection from the lab client to the lab server
// that sends zeros until stopped, while the server counts what arrives.
type flow struct {
	conn     *net.TCPConn
	received atomic.Int64
	stop     atomic.Bool
	done     chan error
}

// startFlow opens the connection on path 0 and starts sending.
func startFlow(t *testing.T, lab *nstest.Lab, port uint16) *flow {
	t.Helper()
	addr := lab.ServerAddrPort(port).String()
	var ln net.Listener
	err := lab.Server.Do(func() (err error) {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err = lc.Listen(t.Context(), "tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	f := &flow{done: make(chan error, 1)}
	go f.sink(ln)
	err = lab.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		c, err := d.Dial("tcp", addr)
		if err == nil {
			f.conn = c.(*net.TCPConn)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.conn.MultipathTCP(); !ok {
		t.Fatal("lab connection is not MPTCP")
	}
	go f.send()
	t.Cleanup(f.close)
	return f
}

func (f *flow) sink(ln net.Listener) {
	c, err := ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	for {
		n, err := c.Read(buf)
		f.received.Add(int64(n))
		if err != nil {
			return
		}
	}
}

// send writes until stopped. Short write deadlines let it notice the
// stop flag while the path is blocked.
func (f *flow) send() {
	buf := make([]byte, 64<<10)
	for !f.stop.Load() {
		_ = f.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := f.conn.Write(buf)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			f.done <- err
			return
		}
	}
	f.done <- nil
}

func (f *flow) close() {
	if f.stop.Swap(true) {
		return
	}
	<-f.done
	f.conn.Close()
}

// mbps returns the goodput at the server over d, in Mbit/s.
func (f *flow) mbps(d time.Duration) float64 {
	before := f.received.Load()
	time.Sleep(d)
	return float64(f.received.Load()-before) * 8 / d.Seconds() / 1e6
}

// connectTime returns how long the TCP handshake from the lab client to
// a listener on the lab server takes.
func connectTime(t *testing.T, lab *nstest.Lab, port uint16) time.Duration {
	t.Helper()
	addr := lab.ServerAddrPort(port).String()
	var ln net.Listener
	err := lab.Server.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	var d time.Duration
	err = lab.Client.Do(func() error {
		start := time.Now()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		d = time.Since(start)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
