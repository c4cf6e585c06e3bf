package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/diag"
	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/internal/netlab"
)

// pollInterval is the inet_diag poll period of the project's older
// daemon, the comparison for the BPF stream.
const pollInterval = 300 * time.Millisecond

// figFreshness measures how old statistics are when user space gets
// them during one bulk transfer. For the daemon's BPF records the age
// runs from the kernel timestamp to the daemon's write of the record.
// For the same kernel events, the harness dumps inet_diag every 300 ms,
// and the age runs to the end of the first dump that started after the
// event.
func figFreshness(ctx context.Context, c *config, r *Results) error {
	bpfRow, pollRow, err := measureFreshness(ctx, c)
	if err != nil {
		return err
	}
	r.Freshness = append(r.Freshness, bpfRow, pollRow)
	for _, spec := range []sysSpec{sysKernel, sysAddrAdv, sysSSPI} {
		r.Freshness = append(r.Freshness, FreshnessRow{
			Method: "none", System: spec.Name,
			Outcome: Outcome{Status: StatusNA, Reason: "delivers no per-subflow statistics; " +
				"its users poll inet_diag (ss), as in the 300 ms poll row"},
		})
	}
	return nil
}

func measureFreshness(ctx context.Context, c *config) (FreshnessRow, FreshnessRow, error) {
	bpfRow := FreshnessRow{Method: "BPF ring buffer", System: sysDaemon.Name}
	pollRow := FreshnessRow{Method: "inet_diag poll every 300 ms", System: "harness (older daemon's method)"}
	l, err := buildLab(sysDaemon, 2)
	if err != nil {
		return bpfRow, pollRow, err
	}
	defer l.close()
	l.record = true
	addr := net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), "5201")
	srv, err := startServers(c, l.topo.Server, []string{addr})
	if err != nil {
		return bpfRow, pollRow, err
	}
	defer stopAll(srv)
	if err := l.start(c); err != nil {
		return bpfRow, pollRow, err
	}

	offset := monoToWall()
	var polls []pollSpan
	var perr error
	_, err = runBulk(ctx, c, l, addr, c.sizes.freshness, 0, func() {
		polls, perr = pollDiag(ctx, l.topo.Client, c.sizes.freshness)
	})
	if err != nil {
		return bpfRow, pollRow, err
	}
	if perr != nil {
		return bpfRow, pollRow, perr
	}
	if err := l.proc.stop(); err != nil {
		return bpfRow, pollRow, fmt.Errorf("daemon failed at exit: %w", err)
	}
	recs, err := readStatRecords(filepath.Join(l.recordDir(), "stats.jsonl"))
	if err != nil {
		return bpfRow, pollRow, err
	}
	fillFreshness(&bpfRow, &pollRow, recs, polls, offset)
	return bpfRow, pollRow, nil
}

func fillFreshness(bpfRow, pollRow *FreshnessRow, recs []statRec, polls []pollSpan, offset int64) {
	var ages, urgent, stale []float64
	for _, rec := range recs {
		age := float64(rec.wallNs-offset-rec.ktime) / 1e6
		ages = append(ages, age)
		if rec.urgent {
			urgent = append(urgent, age)
		}
		if s, ok := staleness(polls, rec.ktime); ok {
			stale = append(stale, s)
		}
	}
	bpfRow.Records, bpfRow.AgeMs, bpfRow.Urgent = len(recs), Summarize(ages), Summarize(urgent)
	pollRow.Records, pollRow.AgeMs = len(stale), Summarize(stale)
	bpfRow.Outcome = Outcome{Status: StatusOK}
	pollRow.Outcome = Outcome{Status: StatusOK}
	if len(recs) == 0 {
		bpfRow.Outcome = Outcome{Status: StatusNotDone, Reason: "the daemon recorded no BPF statistics"}
		pollRow.Outcome = bpfRow.Outcome
	}
}

// pollSpan is one inet_diag dump, in CLOCK_MONOTONIC nanoseconds.
type pollSpan struct{ start, end int64 }

// staleness returns, in milliseconds, how long after kernel time k the
// first dump that started after k ended.
func staleness(polls []pollSpan, k int64) (float64, bool) {
	i := sort.Search(len(polls), func(i int) bool { return polls[i].start >= k })
	if i == len(polls) {
		return 0, false
	}
	return float64(polls[i].end-k) / 1e6, true
}

// pollDiag dumps the namespace's MPTCP connections every pollInterval
// for d.
func pollDiag(ctx context.Context, ns *netlab.NS, d time.Duration) ([]pollSpan, error) {
	f, err := os.Open(ns.Path())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	conn, err := diag.Dial(&diag.Config{NetNS: int(f.Fd())})
	if err != nil {
		return nil, fmt.Errorf("inet_diag in %s: %w", ns.Name, err)
	}
	defer conn.Close()
	var polls []pollSpan
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	end := time.After(d)
	for {
		select {
		case <-ctx.Done():
			return polls, ctx.Err()
		case <-end:
			return polls, nil
		case <-t.C:
			s := monoNow()
			if _, err := conn.Connections(diag.Request{}); err != nil {
				return polls, fmt.Errorf("inet_diag dump: %w", err)
			}
			polls = append(polls, pollSpan{start: s, end: monoNow()})
		}
	}
}

func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// monoToWall returns CLOCK_REALTIME minus CLOCK_MONOTONIC in nanoseconds,
// from the tightest of several paired readings.
func monoToWall() int64 {
	var best, off int64 = 1 << 62, 0
	for i := 0; i < 50; i++ {
		var a, w, b unix.Timespec
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &a)
		_ = unix.ClockGettime(unix.CLOCK_REALTIME, &w)
		_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &b)
		if span := b.Nano() - a.Nano(); span < best {
			best, off = span, w.Nano()-(a.Nano()+b.Nano())/2
		}
	}
	return off
}

// statRec is one BPF line of the daemon's stats.jsonl.
type statRec struct {
	wallNs, ktime int64
	urgent        bool
}

// urgentReasons are the record reasons for which the BPF programs wake
// the reader at once; the others wait for the 20 ms drain.
var urgentReasons = []string{"new", "retrans", "loss", "close"}

func readStatRecords(path string) ([]statRec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the daemon's recorded statistics: %w", err)
	}
	defer f.Close()
	var out []statRec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Time   string `json:"time"`
			Source string `json:"source"`
			KTime  int64  `json:"ktime_ns"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if line.Source != "bpf" || line.KTime == 0 {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, line.Time)
		if err != nil {
			return nil, fmt.Errorf("%s: time %q: %w", path, line.Time, err)
		}
		out = append(out, statRec{wallNs: t.UnixNano(), ktime: line.KTime, urgent: isUrgent(line.Reason)})
	}
	return out, sc.Err()
}

func isUrgent(reason string) bool {
	for _, r := range strings.Split(reason, "|") {
		for _, u := range urgentReasons {
			if r == u {
				return true
			}
		}
	}
	return false
}
