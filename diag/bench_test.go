package diag

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
	"golang.org/x/sys/unix"
)

const (
	benchConns = 10000 // established connections, two sockets each
	benchPorts = 8     // listening ports, to spread the 4-tuples
)

// benchServerEnv makes the test binary act as the benchmark's server: it
// listens on the benchmark ports, accepts and holds every connection, and
// exits when its standard input closes. A second process holds the
// accepted sockets because one process may not have 20,000 descriptors
// (the hard RLIMIT_NOFILE may be lower and raising it needs
// CAP_SYS_RESOURCE).
const benchServerEnv = "DIAG_BENCH_SERVER"

func init() {
	if os.Getenv(benchServerEnv) == "1" {
		os.Exit(benchServer())
	}
}

func benchServer() int {
	var accepted []net.Conn
	var mu sync.Mutex
	for i := 0; i < benchPorts; i++ {
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", 20000+i))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				accepted = append(accepted, c)
				mu.Unlock()
			}
		}()
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// loopbackFixture is a namespace holding benchConns established TCP
// connections on 127.0.0.1: the client ends in this process, the server
// ends in a child process.
type loopbackFixture struct {
	ns     *nstest.NS
	server *exec.Cmd
	stdin  io.Closer
	conns  []net.Conn
}

func newLoopbackFixture(b *testing.B) *loopbackFixture {
	b.Helper()
	raiseNoFile(b, benchConns+1024)
	fx := &loopbackFixture{ns: nstest.NewNS(b, "diagbench")}
	b.Cleanup(fx.close)
	fx.startServer(b)

	err := fx.ns.Do(func() error {
		d := net.Dialer{Timeout: 5 * time.Second}
		for i := 0; i < benchConns; i++ {
			c, err := d.DialContext(context.Background(), "tcp4",
				fmt.Sprintf("127.0.0.1:%d", 20000+i%benchPorts))
			if err != nil {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			fx.conns = append(fx.conns, c)
		}
		return nil
	})
	if err != nil {
		b.Fatalf("dial: %v", err)
	}
	return fx
}

// startServer starts the test binary as benchServer inside the namespace
// and waits for its listeners.
func (fx *loopbackFixture) startServer(b *testing.B) {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := fx.ns.Do(cmd.Start); err != nil {
		b.Fatalf("start benchmark server: %v", err)
	}
	fx.server, fx.stdin = cmd, stdin
	line := make([]byte, 6)
	if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "ready\n" {
		b.Fatalf("benchmark server did not start: %q %v", line, err)
	}
}

func (fx *loopbackFixture) close() {
	for _, c := range fx.conns {
		c.Close()
	}
	if fx.server != nil {
		fx.stdin.Close()
		fx.server.Wait()
	}
}

// raiseNoFile raises the soft RLIMIT_NOFILE to at least n, within the
// hard limit.
func raiseNoFile(b *testing.B, n uint64) {
	b.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		b.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d descriptors needed", lim.Max, n)
	}
	old := lim
	lim.Cur = n
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatalf("raise RLIMIT_NOFILE to %d: %v", n, err)
	}
	b.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
}

// timeSS runs ss in the namespace runs times and returns the mean wall
// time per run.
func timeSS(b *testing.B, ns *nstest.NS, out io.Writer, runs int, args ...string) time.Duration {
	b.Helper()
	var total time.Duration
	for i := 0; i < runs; i++ {
		// A command started from a thread inside the namespace runs
		// in that namespace, without the cost of ip netns exec.
		err := ns.Do(func() error {
			cmd := exec.Command("ss", args...)
			cmd.Stdout = out
			start := time.Now()
			err := cmd.Run()
			total += time.Since(start)
			return err
		})
		if err != nil {
			b.Fatalf("ss %v: %v", args, err)
		}
	}
	return total / time.Duration(runs)
}

// BenchmarkDump10k times a full TCP dump of 10,000 loopback connections
// (20,000 sockets) in its own namespace, against ss -tin on the same
// sockets in the same run.
func BenchmarkDump10k(b *testing.B) {
	nstest.RequireRoot(b)
	fx := newLoopbackFixture(b)
	f, err := os.Open(fx.ns.Path())
	if err != nil {
		b.Fatal(err)
	}
	c, err := Dial(&Config{NetNS: int(f.Fd())})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	socks, err := c.DumpTCP(Request{})
	if err != nil {
		b.Fatal(err)
	}
	if len(socks) != 2*benchConns {
		b.Fatalf("dump returned %d sockets, want %d", len(socks), 2*benchConns)
	}

	b.Run("DumpTCP", func(b *testing.B) {
		benchDump(b, fx.ns, len(socks), func() error {
			_, err := c.DumpTCP(Request{})
			return err
		})
	})
	b.Run("WalkTCP", func(b *testing.B) {
		benchDump(b, fx.ns, len(socks), func() error {
			return c.WalkTCP(Request{}, func(*TCPSocket) error { return nil })
		})
	})
	// The kernel's share: the same requests with replies received but
	// not decoded.
	b.Run("ReceiveOnly", func(b *testing.B) {
		benchDump(b, fx.ns, len(socks), func() error {
			for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
				r := request{op: "dump", family: fam, protocol: ipprotoTCP,
					ext: tcpExt, states: ConnectedStates, dump: true}
				if err := c.execute(&r, func([]byte) error { return nil }); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// benchDump times dump and reports it against ss -tin, which is timed
// just before and just after the loop so that both see the same load.
func benchDump(b *testing.B, ns *nstest.NS, sockets int, dump func() error) {
	const ssRuns = 3
	ssDiscard := timeSS(b, ns, io.Discard, ssRuns, "-tin")
	ssDevNull := timeSS(b, ns, nil, ssRuns, "-tin")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if err := dump(); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	per := b.Elapsed() / time.Duration(b.N)

	ssDiscard = (ssDiscard + timeSS(b, ns, io.Discard, ssRuns, "-tin")) / 2
	ssDevNull = (ssDevNull + timeSS(b, ns, nil, ssRuns, "-tin")) / 2

	allocs := float64(after.Mallocs-before.Mallocs) / float64(b.N)
	b.ReportMetric(float64(sockets), "sockets")
	b.ReportMetric(allocs/float64(sockets), "allocs/socket")
	b.ReportMetric(float64(ssDiscard.Nanoseconds()), "ss-ns/op")
	b.ReportMetric(float64(ssDiscard)/float64(per), "x-faster-than-ss")
	b.ReportMetric(float64(ssDevNull)/float64(per), "x-faster-than-ss-devnull")
}

const benchMPTCPConns = 1000

// BenchmarkConnections times Connections over 1,000 MPTCP connections on
// loopback in its own namespace: both ends are in the namespace, so the
// MPTCP dump returns 2,000 sockets and the TCP dump 2,000 subflows.
func BenchmarkConnections(b *testing.B) {
	nstest.RequireRoot(b)
	nstest.RequireMPTCP(b)
	ns := nstest.NewNS(b, "diagbenchm")
	var conns []net.Conn
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	err := ns.Do(func() error {
		var lc net.ListenConfig
		lc.SetMultipathTCP(true)
		ln, err := lc.Listen(context.Background(), "tcp4", "127.0.0.1:20100")
		if err != nil {
			return err
		}
		defer ln.Close()
		var d net.Dialer
		d.SetMultipathTCP(true)
		for i := 0; i < benchMPTCPConns; i++ {
			c, err := d.Dial("tcp4", "127.0.0.1:20100")
			if err != nil {
				return err
			}
			s, err := ln.Accept()
			if err != nil {
				return err
			}
			conns = append(conns, c, s)
		}
		return nil
	})
	if err != nil {
		b.Fatalf("open MPTCP connections: %v", err)
	}

	f, err := os.Open(ns.Path())
	if err != nil {
		b.Fatal(err)
	}
	c, err := Dial(&Config{NetNS: int(f.Fd())})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	b.Run("Connections", func(b *testing.B) {
		var n int
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for b.Loop() {
			got, err := c.Connections(Request{})
			if err != nil {
				b.Fatal(err)
			}
			n = len(got)
		}
		runtime.ReadMemStats(&after)
		if n != 2*benchMPTCPConns {
			b.Fatalf("Connections returned %d connections, want %d", n, 2*benchMPTCPConns)
		}
		allocs := float64(after.Mallocs-before.Mallocs) / float64(b.N)
		b.ReportMetric(float64(n), "connections")
		b.ReportMetric(allocs/float64(n), "allocs/connection")
	})
	// The two dumps that Connections makes, without copying.
	b.Run("WalkMPTCP", func(b *testing.B) {
		for b.Loop() {
			if err := c.WalkMPTCP(Request{}, func(*MPTCPSocket) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WalkTCP", func(b *testing.B) {
		for b.Loop() {
			if err := c.WalkTCP(Request{}, func(*TCPSocket) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
