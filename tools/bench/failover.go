package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/tools/shape"
)

// failoverSystems are the configurations of the failover figure.
var failoverSystems = []sysSpec{sysKernel, sysAddrAdv, sysSSPI, sysDaemon, sysDaemonAdaptive}

// recoveredShare is the share of one path's shaped rate that counts as
// recovered goodput.
const recoveredShare = 0.8

// failoverInterval is the period of the goodput samples.
const failoverInterval = 100 * time.Millisecond

// figFailover blackholes the path of the initial subflow during a bulk
// transfer over two rate-limited paths, and measures the time until
// goodput over a 100 ms interval reaches 80% of the other path's rate.
func figFailover(ctx context.Context, c *config, r *Results) error {
	rows := map[string]*FailoverRow{}
	for round := 0; round < c.sizes.failoverRounds; round++ {
		for _, spec := range rotate(failoverSystems, round) {
			row := rows[spec.Name]
			if row == nil {
				row = &FailoverRow{System: spec.Name, PathMbps: c.sizes.failoverMbps,
					WindowS: c.sizes.failoverAfter.Seconds()}
				rows[spec.Name] = row
			}
			run, err := measureFailover(ctx, c, spec)
			if err != nil {
				return err
			}
			row.add(run)
			logf("failover %s round %d: recovered=%v after %.2fs (before %.0f, after %.0f Mbit/s)%s",
				spec.Name, round, run.recovered, run.seconds, run.before, run.after, run.note)
		}
	}
	for _, spec := range failoverSystems {
		row := rows[spec.Name]
		row.Median = Median(row.RecoveryS)
		if row.Recovered == 0 {
			row.Median = 0
		}
		r.Failover = append(r.Failover, *row)
	}
	return nil
}

// failoverRun is one transfer of the failover figure.
type failoverRun struct {
	recovered     bool
	seconds       float64
	before, after float64
	unavailable   string
	note          string
	setupSubflows int
}

func (row *FailoverRow) add(run failoverRun) {
	row.Runs++
	if run.unavailable != "" {
		row.Outcome = Outcome{Status: StatusUnavailable, Reason: run.unavailable}
		return
	}
	row.BeforeMbps = max(row.BeforeMbps, run.before)
	row.AfterMbps = max(row.AfterMbps, run.after)
	if run.recovered {
		row.Recovered++
		row.RecoveryS = append(row.RecoveryS, run.seconds)
	}
	switch {
	case row.Recovered == row.Runs:
		row.Outcome = Outcome{Status: StatusOK}
	case row.Recovered == 0:
		row.Outcome = Outcome{Status: StatusNotDone}
	default:
		row.Outcome = Outcome{Status: StatusPartial}
	}
	if row.Recovered < row.Runs {
		row.Reason = fmt.Sprintf("%d of %d transfers did not reach %.0f Mbit/s within %.0fs of the blackhole%s",
			row.Runs-row.Recovered, row.Runs, recoveredShare*row.PathMbps, row.WindowS, run.note)
	}
}

func measureFailover(ctx context.Context, c *config, spec sysSpec) (failoverRun, error) {
	var run failoverRun
	l, err := buildLab(spec, 2)
	if err != nil {
		return run, err
	}
	defer l.close()
	for _, p := range l.topo.Paths {
		if err := shape.Rate(l.topo.Client.Name, p.ClientIf, c.sizes.failoverRate); err != nil {
			return run, fmt.Errorf("shape path %s: %w", p.ClientIf, err)
		}
	}

	addr := net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), "5201")
	srv, err := startServers(c, l.topo.Server, []string{addr})
	if err != nil {
		return run, err
	}
	defer stopAll(srv)
	obs, err := newObserver(l.topo.Client, l.expected())
	if err != nil {
		return run, err
	}
	defer obs.close()
	if err := l.start(c); err != nil {
		if spec.Name == sysDaemonAdaptive.Name && !l.daemonHasAdaptive(c) {
			run.unavailable = "this mptcp-bpf-pm build has no --policy adaptive: " + err.Error()
			return run, nil
		}
		return run, err
	}
	return runFailover(ctx, c, l)
}

func runFailover(ctx context.Context, c *config, l *lab) (failoverRun, error) {
	var run failoverRun
	var cut time.Duration
	var cutErr error
	start := time.Now()
	rep, err := runBulk(ctx, c, l, net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), "5201"),
		c.sizes.failoverBefore+c.sizes.failoverAfter, failoverInterval, func() {
			time.Sleep(c.sizes.failoverBefore)
			cut = time.Since(start)
			cutErr = shape.Blackhole(l.topo.Client.Name, l.topo.Paths[0].ClientIf)
		})
	if err != nil {
		return run, err
	}
	if cutErr != nil {
		return run, fmt.Errorf("blackhole path %s: %w", l.topo.Paths[0].ClientIf, cutErr)
	}
	run.setupSubflows = rep.subflows()
	recovery(&run, rep.intervals, cut.Seconds(), c.sizes.failoverMbps)
	return run, nil
}

// recovery finds the first interval after cut (seconds since the start of
// the transfer) whose goodput reaches recoveredShare of pathMbps.
// Interval times count from the start of the client's reports, a few
// milliseconds after the harness started the client, so the recovery
// time is overstated by that much at most.
func recovery(run *failoverRun, ivs []interval, cut, pathMbps float64) {
	var before, after []float64
	for _, iv := range ivs {
		end := iv.Start + iv.Secs
		if end <= cut {
			before = append(before, iv.Mbps)
			continue
		}
		if iv.Start < cut {
			continue
		}
		after = append(after, iv.Mbps)
		if !run.recovered && iv.Mbps >= recoveredShare*pathMbps {
			run.recovered = true
			run.seconds = end - cut
		}
	}
	run.before = Median(before)
	if len(before) == 0 {
		run.before = 0
	}
	if n := len(after); n > 0 {
		run.after = Median(after[n/2:])
	}
	if len(ivs) == 0 {
		run.note = "; the client printed no progress"
	}
}

// daemonHasAdaptive reports whether the daemon accepts --policy adaptive.
func (l *lab) daemonHasAdaptive(c *config) bool {
	out, _ := l.topo.Client.Command(c.daemon, "run", "--help").CombinedOutput()
	return strings.Contains(string(out), "adaptive")
}
