package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
)

// scaleDialers is the number of connections opened at once while the
// scale figure fills the table.
const scaleDialers = 32

// figScale opens up to 10,000 long-lived connections per system. It
// reads the path manager's resident set when idle and at each size
// (figure 6), and at the dump size it times inet_diag dumps of every
// subflow against ss (figure 5).
func figScale(ctx context.Context, c *config, r *Results) error {
	for _, spec := range mainSystems {
		mem, dumps, err := measureScale(ctx, c, spec)
		if err != nil {
			return err
		}
		r.Memory = append(r.Memory, mem)
		r.Diag = append(r.Diag, dumps...)
	}
	return nil
}

// scaleState is the set of open connections of one scale run.
type scaleState struct {
	l     *lab
	obs   *observer
	addrs []string
	conns []net.Conn
	fails int
}

func measureScale(ctx context.Context, c *config, spec sysSpec) (MemoryRow, []DiagRow, error) {
	mem := MemoryRow{System: spec.Name}
	l, err := buildLab(spec, 2)
	if err != nil {
		return mem, nil, err
	}
	defer l.close()
	st := &scaleState{l: l}
	for _, port := range []string{"5501", "5502"} {
		st.addrs = append(st.addrs, net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), port))
	}
	srv, err := startServers(c, l.topo.Server, st.addrs)
	if err != nil {
		return mem, nil, err
	}
	defer stopAll(srv)
	if st.obs, err = newObserver(l.topo.Client, l.expected()); err != nil {
		return mem, nil, err
	}
	defer st.obs.close()
	if err := l.start(c); err != nil {
		return mem, nil, err
	}
	defer st.closeAll()

	time.Sleep(time.Second)
	mem.IdleKiB, mem.IdleAnonKiB = l.rss(), l.anon()
	var dumps []DiagRow
	for _, n := range scaleSizes(c.sizes) {
		if err := st.openUpTo(ctx, n); err != nil {
			return mem, nil, err
		}
		subflows := st.waitSubflows(n*l.expected(), 15*time.Second)
		mem.Connections, mem.Subflows = len(st.conns), subflows
		if n == c.sizes.diagAt {
			if dumps, err = timeDumps(ctx, c, l, spec, len(st.conns)+subflows); err != nil {
				return mem, nil, err
			}
		}
		if containsInt(c.sizes.scalePoints, n) {
			mem.Points = append(mem.Points, Mem{Connections: len(st.conns), Subflows: subflows,
				RSSKiB: l.rss(), AnonKiB: l.anon()})
		}
		logf("scale %s: %d connections, %d subflows, RSS %d KiB", spec.Name, len(st.conns), subflows, l.rss())
	}
	mem.Outcome = memOutcome(l, mem, st.fails, c.sizes)
	return mem, dumps, nil
}

func memOutcome(l *lab, mem MemoryRow, fails int, sz sizes) Outcome {
	want := sz.scalePoints[len(sz.scalePoints)-1]
	var o Outcome
	switch {
	case l.proc == nil:
		o = Outcome{Status: StatusNA, Reason: "no user-space process: the in-kernel PM keeps its state in the kernel"}
	case mem.Connections < want:
		o = Outcome{Status: StatusNotDone, Reason: fmt.Sprintf("opened %d of %d connections", mem.Connections, want)}
	case mem.Subflows < mem.Connections*l.expected():
		o = Outcome{Status: StatusNotDone, Reason: fmt.Sprintf("%d connections open, %d of %d extra subflows created",
			mem.Connections, mem.Subflows, mem.Connections*l.expected())}
	default:
		o = Outcome{Status: StatusOK}
	}
	if fails > 0 {
		o.Reason = joinReason(o.Reason, fmt.Sprintf("%d connections failed to open", fails))
	}
	return o
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// scaleSizes returns the RSS points and the dump size, sorted.
func scaleSizes(sz sizes) []int {
	ns := append([]int{sz.diagAt}, sz.scalePoints...)
	sort.Ints(ns)
	out := ns[:0]
	for i, n := range ns {
		if i == 0 || n != ns[i-1] {
			out = append(out, n)
		}
	}
	return out
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// rss returns the path manager's resident set in KiB; 0 without one.
func (l *lab) rss() int {
	if l.proc == nil {
		return 0
	}
	n, _ := l.proc.rssKiB()
	return n
}

// anon returns the anonymous part of the path manager's resident set in
// KiB; 0 without one.
func (l *lab) anon() int {
	if l.proc == nil {
		return 0
	}
	n, _ := l.proc.anonKiB()
	return n
}

// openUpTo opens connections until n are open, each sending one byte so
// that the client reaches ESTABLISHED. More than 1% failures stop it.
func (st *scaleState) openUpTo(ctx context.Context, n int) error {
	limit := n/100 + 5
	for len(st.conns) < n && st.fails <= limit && ctx.Err() == nil {
		st.openBatch(ctx, n-len(st.conns))
	}
	if st.fails > limit {
		return fmt.Errorf("%s: %d connections failed to open while opening %d; check the lab's limits", st.l.spec.Name, st.fails, n)
	}
	return ctx.Err()
}

// openBatch tries to open count connections, scaleDialers at a time.
func (st *scaleState) openBatch(ctx context.Context, count int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan string)
	for w := 0; w < scaleDialers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for addr := range next {
				c, err := dialMPTCP(ctx, st.l.topo.Client, addr)
				if err == nil {
					if _, err = c.Write([]byte{0}); err != nil {
						c.Close()
					}
				}
				mu.Lock()
				if err != nil {
					st.fails++
				} else {
					st.conns = append(st.conns, c)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < count && ctx.Err() == nil; i++ {
		next <- st.addrs[i%len(st.addrs)]
	}
	close(next)
	wg.Wait()
}

// waitSubflows waits until the listener has seen want subflows, or no
// new subflow for 2 s, or timeout; it returns the count seen.
func (st *scaleState) waitSubflows(want int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	last, lastChange := -1, time.Now()
	for {
		n := st.obs.subflowCount()
		if n >= want || time.Now().After(deadline) || time.Since(lastChange) > 2*time.Second {
			return n
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (st *scaleState) closeAll() {
	for _, c := range st.conns {
		c.Close()
	}
	st.conns = nil
}

// dumpMethod is one way to list every subflow with its TCP info.
type dumpMethod struct {
	name string
	run  func() (int, error) // returns the TCP sockets seen, or -1
}

// timeDumps times each dump method diagReps times, methods alternating.
func timeDumps(ctx context.Context, c *config, l *lab, spec sysSpec, subflows int) ([]DiagRow, error) {
	f, err := os.Open(l.topo.Client.Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dc, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		return nil, fmt.Errorf("inet_diag in %s: %w", l.topo.Client.Name, err)
	}
	defer dc.Close()
	ns := l.topo.Client
	command := func(name string, args ...string) func() (int, error) {
		return func() (int, error) {
			cmd := ns.Command(name, args...)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			return -1, cmd.Run()
		}
	}
	methods := []dumpMethod{
		{"diag package (in process)", func() (int, error) {
			conns, err := dc.Connections(diag.Request{})
			n := 0
			for _, c := range conns {
				n += len(c.Subflows)
			}
			return n, err
		}},
		{"mptcp-bpf-pm status", command(c.daemon, "status")},
		{"ss -tinM", command("ss", "-tinM")},
		{"ss -tin", command("ss", "-tin")},
	}

	times := make([][]float64, len(methods))
	seen := make([]int, len(methods))
	for rep := 0; rep < c.sizes.diagReps && ctx.Err() == nil; rep++ {
		for i, m := range methods {
			start := time.Now()
			n, err := m.run()
			if err != nil {
				return nil, fmt.Errorf("dump with %s: %w", m.name, err)
			}
			times[i] = append(times[i], float64(time.Since(start).Microseconds())/1e3)
			seen[i] = n
		}
	}
	var rows []DiagRow
	ssMedian := Median(times[len(methods)-1])
	for i, m := range methods {
		row := DiagRow{System: spec.Name, Method: m.name, Sockets: seen[i], Subflows: subflows,
			WallMs: Summarize(times[i]), Outcome: Outcome{Status: StatusOK}}
		row.RatioSS = Ratio(row.WallMs.P50, ssMedian)
		rows = append(rows, row)
	}
	return rows, ctx.Err()
}
