package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"time"
)

// StatusPartial marks a system that did the job for some connections
// only.
const StatusPartial = "partial"

// latencyRun is one system's share of one round.
type latencyRun struct {
	conns, complete, subflows, dialErrors int
	subUs, allUs                          []float64
	connectUs                             []float64 // connect() to the last subflow
	stoppedEarly                          bool
	hint                                  string
}

// figLatency measures subflow set-up latency: ESTABLISHED to each
// SUB_ESTABLISHED, stamped by an independent event listener, one
// connection at a time so that no connection waits behind another.
func figLatency(ctx context.Context, c *config, r *Results) error {
	for _, paths := range c.sizes.latencyPaths {
		acc := map[string]*latencyRun{}
		for round := 0; round < c.sizes.latencyRounds; round++ {
			for _, spec := range rotate(mainSystems, round) {
				run, err := measureLatency(ctx, c, spec, paths)
				if err != nil {
					return err
				}
				acc[spec.Name] = mergeLatency(acc[spec.Name], run)
				logf("latency %s paths=%d round=%d: %d/%d complete, p50 %.0fus",
					spec.Name, paths, round, run.complete, run.conns, Median(run.subUs))
			}
		}
		r.Latency = append(r.Latency, latencyRows(acc, paths, c.sizes.latencyRounds)...)
	}
	return nil
}

func measureLatency(ctx context.Context, c *config, spec sysSpec, paths int) (*latencyRun, error) {
	l, err := buildLab(spec, paths)
	if err != nil {
		return nil, err
	}
	defer l.close()
	addr := net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), "5301")
	srv, err := startServers(c, l.topo.Server, []string{addr})
	if err != nil {
		return nil, err
	}
	defer stopAll(srv)
	obs, err := newObserver(l.topo.Client, l.expected())
	if err != nil {
		return nil, err
	}
	defer obs.close()
	if err := l.start(c); err != nil {
		return nil, err
	}

	run := &latencyRun{}
	warm := 3
	for i := 0; i < warm+c.sizes.latencyConns && ctx.Err() == nil; i++ {
		one := oneConnection(ctx, l, obs, addr, c.sizes.joinTimeout)
		if i < warm {
			continue
		}
		run.add(one, l.expected())
		if run.dialErrors >= 5 || (run.conns >= 10 && run.subflows == 0) {
			run.stoppedEarly = true
			break
		}
	}
	run.hint = l.hint()
	return run, ctx.Err()
}

// connResult is one connection: its subflow latencies from ESTABLISHED,
// the time from the start of connect() to its last subflow, or its dial
// error.
type connResult struct {
	subflows []time.Duration
	connect  time.Duration
	err      error
}

// oneConnection dials, waits for the subflows, and closes.
func oneConnection(ctx context.Context, l *lab, obs *observer, addr string, timeout time.Duration) connResult {
	start := time.Now()
	conn, err := dialMPTCP(ctx, l.topo.Client, addr)
	if err != nil {
		return connResult{err: err}
	}
	defer conn.Close()
	// The client reports ESTABLISHED only once the server has
	// acknowledged data at the MPTCP level, so send a byte.
	if _, err := conn.Write([]byte{0}); err != nil {
		return connResult{err: err}
	}
	key := portKey(uint16(conn.LocalAddr().(*net.TCPAddr).Port),
		uint16(conn.RemoteAddr().(*net.TCPAddr).Port))
	est, subs := obs.wait(key, timeout)
	var res connResult
	if est.IsZero() {
		return res
	}
	for _, t := range subs {
		res.subflows = append(res.subflows, t.Sub(est))
	}
	if len(subs) > 0 {
		res.connect = subs[len(subs)-1].Sub(start)
	}
	return res
}

func (run *latencyRun) add(one connResult, want int) {
	if one.err != nil {
		run.dialErrors++
		return
	}
	run.conns++
	run.subflows += len(one.subflows)
	for _, d := range one.subflows {
		run.subUs = append(run.subUs, us(d))
	}
	if len(one.subflows) >= want {
		run.complete++
		if want > 0 {
			run.allUs = append(run.allUs, us(one.subflows[want-1]))
			run.connectUs = append(run.connectUs, us(one.connect))
		}
	}
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// roundAll returns xs rounded to 1/scale.
func roundAll(xs []float64, scale float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*scale) / scale
	}
	return out
}

func mergeLatency(a, b *latencyRun) *latencyRun {
	if a == nil {
		return b
	}
	a.conns += b.conns
	a.complete += b.complete
	a.subflows += b.subflows
	a.dialErrors += b.dialErrors
	a.subUs = append(a.subUs, b.subUs...)
	a.allUs = append(a.allUs, b.allUs...)
	a.connectUs = append(a.connectUs, b.connectUs...)
	a.stoppedEarly = a.stoppedEarly || b.stoppedEarly
	if a.hint == "" {
		a.hint = b.hint
	}
	return a
}

func latencyRows(acc map[string]*latencyRun, paths, rounds int) []LatencyRow {
	var rows []LatencyRow
	var base LatencyRow
	for _, spec := range mainSystems {
		run := acc[spec.Name]
		row := LatencyRow{
			System: spec.Name, Paths: paths, Rounds: rounds,
			Connections: run.conns, Complete: run.complete,
			Subflows: run.subflows, Expected: run.conns * (paths - 1),
			SubflowUs: Summarize(run.subUs), AllUs: Summarize(run.allUs),
			ConnectUs: Summarize(run.connectUs),
			SamplesUs: roundAll(run.subUs, 10),
		}
		row.Outcome = jobOutcome(run.conns, run.complete, run.subflows, paths-1, run.dialErrors, run.stoppedEarly, run.hint)
		if spec.Name == sysKernel.Name {
			base = row
		}
		row.RatioP50 = Ratio(row.SubflowUs.P50, base.SubflowUs.P50)
		row.RatioP99 = Ratio(row.SubflowUs.P99, base.SubflowUs.P99)
		row.ConnectRatioP50 = Ratio(row.ConnectUs.P50, base.ConnectUs.P50)
		row.ConnectRatioP99 = Ratio(row.ConnectUs.P99, base.ConnectUs.P99)
		rows = append(rows, row)
	}
	return rows
}

// jobOutcome returns whether every connection got its subflows, and why not.
func jobOutcome(conns, complete, subflows, want, dialErrors int, early bool, hint string) Outcome {
	var why []string
	if dialErrors > 0 {
		why = append(why, fmt.Sprintf("%d connections failed to open", dialErrors))
	}
	if complete < conns {
		why = append(why, fmt.Sprintf("%d of %d connections got all %d extra subflows (%d subflows in all)",
			complete, conns, want, subflows))
	}
	if early {
		why = append(why, "stopped early: no subflow after 10 connections")
	}
	if hint != "" && complete < conns {
		why = append(why, "log: "+hint)
	}
	o := Outcome{Status: StatusOK, Reason: strings.Join(why, "; ")}
	switch {
	case conns == 0 || complete == 0:
		o.Status = StatusNotDone
	case complete < conns || dialErrors > 0:
		o.Status = StatusPartial
	}
	return o
}

// hint returns the path manager's log lines that explain a failure,
// such as mptcpd's "is unimplemented" warnings, at most two distinct.
func (l *lab) hint() string {
	if l.proc == nil {
		return ""
	}
	seen := map[string]bool{}
	var out []string
	for _, key := range []string{"unimplemented", "rror", "Unable", "level=warn"} {
		for _, line := range l.proc.logLines(key) {
			if !seen[line] && len(out) < 2 {
				seen[line] = true
				out = append(out, strings.TrimSpace(line))
			}
		}
	}
	return strings.Join(out, " / ")
}

// rotate returns specs starting at index round, so that each system
// takes every position in turn.
func rotate(specs []sysSpec, round int) []sysSpec {
	n := len(specs)
	out := make([]sysSpec, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, specs[(i+round)%n])
	}
	return out
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "   "+format+"\n", args...)
}
