package bpf

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// newKernelLab builds a two-path lab whose client runs the in-kernel path
// manager with a subflow endpoint on path 1, so every connection gets a
// second subflow.
func newKernelLab(t *testing.T) *nstest.Lab {
	t.Helper()
	return newKernelLabFamily(t, false)
}

// newKernelLabFamily is newKernelLab with IPv6 addresses when ipv6 is
// true.
func newKernelLabFamily(t *testing.T, ipv6 bool) *nstest.Lab {
	t.Helper()
	lab := nstest.NewLab(t, nstest.LabOptions{Paths: 2, IPv6: ipv6, ClientPM: "kernel"})
	lab.Client.Run(t, "ip", "mptcp", "endpoint", "add",
		lab.Paths[1].ClientAddr.String(), "dev", lab.Paths[1].ClientIf,
		"subflow")
	return lab
}

func nsInode(t *testing.T, ns *nstest.NS) uint32 {
	t.Helper()
	ino, err := NetNSInode(ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// loadTracer loads the programs and closes them at cleanup.
func loadTracer(t *testing.T, opts Options) *Tracer {
	t.Helper()
	nstest.RequireRoot(t)
	tr, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// collector runs Tracer.Run in the background and keeps copies of every
// record.
type collector struct {
	mu      sync.Mutex
	records []Record
	delay   time.Duration // sleep in each callback
	cancel  context.CancelFunc
	done    chan error
}

func collect(t *testing.T, tr *Tracer) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- tr.Run(ctx, func(r *Record) {
			c.mu.Lock()
			c.records = append(c.records, *r)
			delay := c.delay
			c.mu.Unlock()
			time.Sleep(delay)
		})
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop ends Run after one more drain and returns the records.
// snapshot returns a copy of the records collected so far.
func (c *collector) snapshot() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.records...)
}

func (c *collector) stop(t *testing.T) []Record {
	t.Helper()
	if c.cancel != nil {
		time.Sleep(3 * DefaultDrainInterval)
		c.cancel()
		c.cancel = nil
		if err := <-c.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.records...)
}

// listen opens an MPTCP listener in the server namespace that reads and
// discards everything each connection sends.
func listen(t *testing.T, lab *nstest.Lab, port uint16) netip.AddrPort {
	t.Helper()
	addr := lab.ServerAddrPort(port)
	var ln net.Listener
	err := lab.Server.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		var err error
		ln, err = lc.Listen(context.Background(), "tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
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
	return addr
}

// dial opens an MPTCP connection from the client namespace.
func dial(t *testing.T, lab *nstest.Lab, addr netip.AddrPort) net.Conn {
	t.Helper()
	var c net.Conn
	err := lab.Client.Do(func() error {
		var d net.Dialer
		d.SetMultipathTCP(true)
		var err error
		c, err = d.Dial("tcp", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return c
}

// send writes n bytes to c.
func send(t *testing.T, c net.Conn, n int) {
	t.Helper()
	buf := make([]byte, 64<<10)
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// ssSubflow is one TCP subflow as printed by ss -tinHe.
type ssSubflow struct {
	local, peer       netip.AddrPort
	cookie            uint64
	token             uint32
	localID, remoteID int
	rttUs             float64
	cwnd              uint32
}

// ssSubflows lists the MPTCP subflows of ns with ss from iproute2.
func ssSubflows(t *testing.T, ns *nstest.NS) []ssSubflow {
	t.Helper()
	out := ns.Run(t, "ss", "-tinHe", "state", "established")
	var subs []ssSubflow
	var cur *ssSubflow
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			subs = append(subs, ssSubflow{
				local: parseSSAddr(t, f[2]),
				peer:  parseSSAddr(t, f[3]),
			})
			cur = &subs[len(subs)-1]
		}
		for _, w := range f {
			parseSSWord(cur, w)
		}
	}
	var mptcp []ssSubflow
	for _, s := range subs {
		if s.token != 0 {
			mptcp = append(mptcp, s)
		}
	}
	return mptcp
}

// parseSSAddr parses "10.0.0.1%c1:80" or "[fd00::1]%c1:80".
func parseSSAddr(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	i := strings.LastIndexByte(s, ':')
	host, port := s[:i], s[i+1:]
	host, _, _ = strings.Cut(host, "%")
	host = strings.Trim(host, "[]")
	ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port))
	if err != nil {
		t.Fatalf("ss address %q: %v", s, err)
	}
	return ap
}

func parseSSWord(s *ssSubflow, w string) {
	if s == nil {
		return
	}
	key, val, ok := strings.Cut(w, ":")
	if !ok {
		return
	}
	switch key {
	case "sk":
		s.cookie, _ = strconv.ParseUint(val, 16, 64)
	case "rtt":
		rtt, _, _ := strings.Cut(val, "/")
		ms, _ := strconv.ParseFloat(rtt, 64)
		s.rttUs = ms * 1000
	case "cwnd":
		n, _ := strconv.ParseUint(val, 10, 32)
		s.cwnd = uint32(n)
	case "token":
		// token:REMOTE(id:R)/LOCAL(id:L)
		remote, local, _ := strings.Cut(val, "/")
		s.remoteID = ssID(remote)
		tok, _, _ := strings.Cut(local, "(")
		n, _ := strconv.ParseUint(tok, 16, 32)
		s.token = uint32(n)
		s.localID = ssID(local)
	}
}

// ssID returns N of "...(id:N)".
func ssID(s string) int {
	_, id, ok := strings.Cut(s, "(id:")
	if !ok {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(id, ")"))
	return n
}

// monotonicNow returns CLOCK_MONOTONIC in ns, the clock of
// Record.Timestamp.
func monotonicNow() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return uint64(ts.Nano())
}
