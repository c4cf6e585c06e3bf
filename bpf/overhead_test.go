package bpf

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/bpf/internal/naive"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/nstest"
)

// Program variants compared by TestOverhead.
const (
	variantNone  = "none"  // no BPF program
	variantAgg   = "agg"   // this package: aggregated, routine records without wakeup
	variantRaw   = "raw"   // the same in raw_tp mode
	variantNaive = "naive" // one record per tcp_probe hit, each waking the reader
)

// overheadRun is what one bulk transfer measured.
type overheadRun struct {
	gbps      float64
	records   int
	drops     uint64
	hits      uint64        // tcp_probe runs, every namespace
	bpfTime   time.Duration // run time of all programs
	probeNs   float64       // BPF ns per tcp_probe run
	readerCPU float64       // share of one core used by the reader thread
	urgent    []time.Duration
	routine   []time.Duration
	duration  time.Duration
}

// TestOverhead alternates MPTCP bulk transfers with no program, with this
// package's programs (tp_btf and raw_tp) and with the naive design, in a
// rotating order, and reports throughput ratios, BPF time per tcp_probe
// hit, reader CPU and kernel-to-Go latency. It runs only with
// BPF_BENCH=1; BPF_BENCH_ROUNDS (default 5) and BPF_BENCH_SECONDS
// (default 3) size it, and BPF_BENCH_PIN=1 pins sender and receiver to
// CPUs 0 and 1:
//
//	BPF_BENCH=1 BPF_BENCH_PIN=1 go test -run TestOverhead -v ./bpf/
func TestOverhead(t *testing.T) {
	if os.Getenv("BPF_BENCH") != "1" {
		t.Skip("benchmark: set BPF_BENCH=1")
	}
	rounds := envInt("BPF_BENCH_ROUNDS", 5)
	dur := time.Duration(envInt("BPF_BENCH_SECONDS", 3)) * time.Second

	lab := newKernelLab(t)
	ino := nsInode(t, lab.Client)
	sk, addr := startSink(t, lab, 5301)
	stats, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		t.Fatalf("enable BPF run-time statistics: %v", err)
	}
	defer stats.Close()

	variants := []string{variantNone, variantAgg, variantNaive, variantRaw}
	results := map[string][]overheadRun{}
	for round := range rounds {
		for i := range variants {
			v := variants[(i+round)%len(variants)]
			r := runVariant(t, lab, ino, addr, sk, v, dur)
			t.Logf("round %d %-5s %6.2f Gbit/s %7d records %.0f ns/hit reader %.2f%% drops %d",
				round, v, r.gbps, r.records, r.probeNs, 100*r.readerCPU, r.drops)
			results[v] = append(results[v], r)
		}
	}
	reportOverhead(t, results, rounds)
	reportUrgentLatency(t, lab, ino)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// sink is the helper process that receives the bulk transfers in the
// server namespace. Running the traffic outside the test process keeps
// the reader's goroutines from changing how the Go scheduler treats the
// sender and receiver.
type sink struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

// startSink starts the receiving helper on port in the server namespace.
func startSink(t *testing.T, lab *nstest.Lab, port uint16) (*sink, netip.AddrPort) {
	t.Helper()
	addr := lab.ServerAddrPort(port)
	cmd := helperCommand(lab.Server, 1)
	cmd.Env = append(os.Environ(), "BPF_HELPER=sink", "BPF_HELPER_ADDR="+addr.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	s := &sink{cmd: cmd, lines: bufio.NewScanner(out)}
	if !s.lines.Scan() || s.lines.Text() != "listening" {
		t.Fatalf("sink helper did not start: %q", s.lines.Text())
	}
	return s, addr
}

// next returns the bytes and duration of the next finished connection.
func (s *sink) next(t *testing.T) (int64, time.Duration) {
	t.Helper()
	if !s.lines.Scan() {
		t.Fatalf("sink helper ended: %v", s.lines.Err())
	}
	var n, ns int64
	if _, err := fmt.Sscan(s.lines.Text(), &n, &ns); err != nil {
		t.Fatalf("sink helper line %q: %v", s.lines.Text(), err)
	}
	return n, time.Duration(ns)
}

// bulk runs the sending helper in the client namespace for dur.
func bulk(t *testing.T, lab *nstest.Lab, addr netip.AddrPort, dur time.Duration) {
	t.Helper()
	cmd := helperCommand(lab.Client, 0)
	cmd.Env = append(os.Environ(), "BPF_HELPER=source",
		"BPF_HELPER_ADDR="+addr.String(), "BPF_HELPER_DURATION="+dur.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("source helper: %v: %s", err, out)
	}
}

// helperCommand runs this test binary as a helper in ns. With
// BPF_BENCH_PIN=1 the helper is pinned to cpu, so that sender and
// receiver do not migrate.
func helperCommand(ns *nstest.NS, cpu int) *exec.Cmd {
	args := []string{os.Args[0], "-test.run=^TestHelperProcess$"}
	if os.Getenv("BPF_BENCH_PIN") == "1" {
		args = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, args...)
	}
	return ns.Command(args[0], args[1:]...)
}

// TestHelperProcess is the sink or source of TestOverhead when run with
// BPF_HELPER set; otherwise it does nothing.
func TestHelperProcess(t *testing.T) {
	addr := os.Getenv("BPF_HELPER_ADDR")
	switch os.Getenv("BPF_HELPER") {
	case "sink":
		runSink(addr)
	case "source":
		dur, _ := time.ParseDuration(os.Getenv("BPF_HELPER_DURATION"))
		runSource(addr, dur)
	default:
		t.Skip("helper of TestOverhead")
	}
	os.Exit(0)
}

func runSink(addr string) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(true)
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening")
	var mu sync.Mutex
	buf := make([]byte, 256<<10)
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		mu.Lock()
		start := time.Now()
		n, _ := io.CopyBuffer(io.Discard, c, buf)
		fmt.Println(n, time.Since(start).Nanoseconds())
		c.Close()
		mu.Unlock()
	}
}

func runSource(addr string, dur time.Duration) {
	var d net.Dialer
	d.SetMultipathTCP(true)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c.SetWriteDeadline(time.Now().Add(dur))
	buf := make([]byte, 256<<10)
	for {
		if _, err := c.Write(buf); err != nil {
			break
		}
	}
	c.Close()
}

// runVariant measures one bulk transfer of dur with variant v loaded.
func runVariant(t *testing.T, lab *nstest.Lab, ino uint32, addr netip.AddrPort,
	sk *sink, v string, dur time.Duration) overheadRun {
	t.Helper()
	var r overheadRun
	var progs []*ebpf.Program
	var probe *ebpf.Program
	var read func(context.Context, func(*Record)) error
	var drops func() uint64

	switch v {
	case variantAgg, variantRaw:
		mode := ModeTPBTF
		if v == variantRaw {
			mode = ModeRawTP
		}
		tr := loadTracer(t, Options{NetNSInode: ino, Mode: mode})
		defer tr.Close()
		for _, p := range tr.coll.Programs {
			progs = append(progs, p)
		}
		probe = tr.coll.Programs["on_tcp_probe"]
		read = tr.Run
		drops = func() uint64 { d, _ := tr.Drops(); return d.Total() }
	case variantNaive:
		p, err := naive.Load(ino, DefaultRingSize)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		probe = p.TCPProbe()
		progs = []*ebpf.Program{probe}
		read = func(ctx context.Context, fn func(*Record)) error {
			var rec Record
			return p.Run(ctx, func(b []byte) {
				if rec.UnmarshalBinary(b) == nil {
					fn(&rec)
				}
			})
		}
		drops = func() uint64 { n, _ := p.Drops(); return n }
	}

	before := progStats(t, progs)
	probeBefore := progStats(t, []*ebpf.Program{probe})
	stop, collected := startReader(t, read, &r)
	start := time.Now()
	bulk(t, lab, addr, dur)
	n, took := sk.next(t)
	r.duration = time.Since(start)
	r.gbps = float64(n) * 8 / took.Seconds() / 1e9
	stop()
	<-collected

	if probe != nil {
		after := progStats(t, progs)
		probeAfter := progStats(t, []*ebpf.Program{probe})
		r.bpfTime = after.time - before.time
		r.hits = probeAfter.count - probeBefore.count
		if r.hits > 0 {
			r.probeNs = float64(probeAfter.time-probeBefore.time) / float64(r.hits)
		}
		r.drops = drops()
	}
	return r
}

type runStats struct {
	time  time.Duration
	count uint64
}

func progStats(t *testing.T, progs []*ebpf.Program) runStats {
	t.Helper()
	var s runStats
	for _, p := range progs {
		if p == nil {
			continue
		}
		st, err := p.Stats()
		if err != nil {
			t.Fatal(err)
		}
		s.time += st.Runtime
		s.count += st.RunCount
	}
	return s
}

// startReader runs read on a locked thread and measures that thread's
// CPU time and the latency of every record.
func startReader(t *testing.T, read func(context.Context, func(*Record)) error,
	r *overheadRun) (stop func(), done <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	if read == nil {
		close(ch)
		return cancel, ch
	}
	r.urgent = make([]time.Duration, 0, 1024)
	r.routine = make([]time.Duration, 0, 1<<20)
	go func() {
		defer close(ch)
		// Never unlocked: the thread ends with the goroutine, and
		// with it the priority that BPF_BENCH_NICE may set.
		runtime.LockOSThread()
		if nice, err := strconv.Atoi(os.Getenv("BPF_BENCH_NICE")); err == nil {
			if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
				t.Errorf("set reader nice %d: %v", nice, err)
			}
		}
		// BPF_BENCH_RT=1 measures the reader as the daemon runs it,
		// with Options.ReaderPriority.
		if os.Getenv("BPF_BENCH_RT") == "1" {
			if err := setRealtime(10); err != nil {
				t.Errorf("set reader SCHED_FIFO: %v", err)
			}
		}
		cpu0, wall0 := threadCPU(), time.Now()
		err := read(ctx, func(rec *Record) {
			lat := time.Duration(monotonicNow() - rec.Timestamp)
			r.records++
			if rec.Reason.Urgent() {
				r.urgent = append(r.urgent, lat)
			} else {
				r.routine = append(r.routine, lat)
			}
		})
		if err != nil {
			t.Errorf("read records: %v", err)
		}
		r.readerCPU = float64(threadCPU()-cpu0) / float64(time.Since(wall0))
	}()
	return cancel, ch
}

// threadCPU returns the user and system time of the calling thread.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 { return quantile(xs, 0.5) }

func quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func reportOverhead(t *testing.T, results map[string][]overheadRun, rounds int) {
	none := results[variantNone]
	for _, v := range []string{variantAgg, variantRaw, variantNaive} {
		runs := results[v]
		var gbps, ratios, probeNs, reader, perSec, hitsPerSec, bpfShare []float64
		var urgent, routine []time.Duration
		var drops uint64
		for i, r := range runs {
			gbps = append(gbps, r.gbps)
			ratios = append(ratios, r.gbps/none[i].gbps)
			probeNs = append(probeNs, r.probeNs)
			reader = append(reader, 100*r.readerCPU)
			perSec = append(perSec, float64(r.records)/r.duration.Seconds())
			hitsPerSec = append(hitsPerSec, float64(r.hits)/r.duration.Seconds())
			bpfShare = append(bpfShare, 100*r.bpfTime.Seconds()/r.duration.Seconds())
			urgent = append(urgent, r.urgent...)
			routine = append(routine, r.routine...)
			drops += r.drops
		}
		var noneGbps []float64
		for _, r := range none {
			noneGbps = append(noneGbps, r.gbps)
		}
		t.Logf("%s over %d rounds: median %.2f Gbit/s vs none %.2f (ratio %.3f), p75 %.2f vs %.2f (ratio %.3f), max %.2f vs %.2f (ratio %.3f), median paired ratio %.3f",
			v, rounds, median(gbps), median(noneGbps), median(gbps)/median(noneGbps),
			quantile(gbps, 0.75), quantile(noneGbps, 0.75), quantile(gbps, 0.75)/quantile(noneGbps, 0.75),
			slices.Max(gbps), slices.Max(noneGbps), slices.Max(gbps)/slices.Max(noneGbps),
			median(ratios))
		t.Logf("%s: %.0f ns per tcp_probe hit, %.0f hits/s, BPF %.2f%% of a core, reader %.2f%% of a core, %.0f records/s, drops %d",
			v, median(probeNs), median(hitsPerSec), median(bpfShare), median(reader), median(perSec), drops)
		t.Logf("%s latency kernel to Go: urgent p50 %v p99 %v (n=%d), routine p50 %v p99 %v (n=%d)",
			v, percentile(urgent, 0.5), percentile(urgent, 0.99), len(urgent),
			percentile(routine, 0.5), percentile(routine, 0.99), len(routine))
	}
}

// reportUrgentLatency opens short connections, each bringing new and
// close records, with the real programs loaded, and reports the latency
// of urgent records, for which the bulk runs have few samples.
func reportUrgentLatency(t *testing.T, lab *nstest.Lab, ino uint32) {
	addr := listen(t, lab, 5302)
	tr := loadTracer(t, Options{NetNSInode: ino})
	defer tr.Close()
	var r overheadRun
	stop, done := startReader(t, tr.Run, &r)
	for range 300 {
		c := dial(t, lab, addr)
		send(t, c, 64<<10)
		c.Close()
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	<-done
	d, _ := tr.Drops()
	t.Logf("short connections: urgent p50 %v p99 %v (n=%d), routine p50 %v p99 %v (n=%d), drops %+v",
		percentile(r.urgent, 0.5), percentile(r.urgent, 0.99), len(r.urgent),
		percentile(r.routine, 0.5), percentile(r.routine, 0.99), len(r.routine), d)
}
