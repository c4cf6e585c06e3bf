package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// churnSystems are the systems of the churn figure; the daemon that logs
// warnings only shows how much of its CPU goes to logging.
var churnSystems = []sysSpec{sysKernel, sysAddrAdv, sysSSPI, sysDaemon, sysDaemonQuiet}

// churnInflight bounds the connections open at once during churn.
const churnInflight = 256

// figChurn finds, for each system, the highest rate of short connections
// at which every connection gets its subflows and no event is lost. Each
// connection sends a byte, waits for its subflows (at most the join
// timeout) and closes. The ladder stops at the first rate that fails.
func figChurn(ctx context.Context, c *config, r *Results) error {
	var rows []ChurnRow
	for _, spec := range churnSystems {
		row, err := measureChurn(ctx, c, spec)
		if err != nil {
			return err
		}
		logf("churn %s: highest %.0f/s, %.1f us CPU per connection", spec.Name, row.HighestRate, row.CPUPerConn)
		rows = append(rows, row)
	}
	for i := range rows {
		rows[i].Ratio = Ratio(rows[i].HighestRate, rows[0].HighestRate)
	}
	r.Churn = rows
	return nil
}

func measureChurn(ctx context.Context, c *config, spec sysSpec) (ChurnRow, error) {
	row := ChurnRow{System: spec.Name}
	l, err := buildLab(spec, 2)
	if err != nil {
		return row, err
	}
	defer l.close()
	var addrs []string
	for port := 5401; port <= 5404; port++ {
		addrs = append(addrs, net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), fmt.Sprint(port)))
	}
	srv, err := startServers(c, l.topo.Server, addrs)
	if err != nil {
		return row, err
	}
	defer stopAll(srv)
	obs, err := newObserver(l.topo.Client, l.expected())
	if err != nil {
		return row, err
	}
	defer obs.close()
	if err := l.start(c); err != nil {
		return row, err
	}

	if l.quiet() {
		if err := l.probeReady(ctx, obs, addrs[0]); err != nil {
			return row, err
		}
	}
	user0, sys0 := l.cpu()
	for _, rate := range c.sizes.churnRates {
		step := churnStep(ctx, l, obs, addrs, rate, c.sizes)
		row.Steps = append(row.Steps, step)
		row.Connections += step.Completed
		logf("churn %s %.0f/s: achieved %.0f/s, %d/%d with subflows, lost %d+%d %s",
			spec.Name, rate, step.Achieved, step.WithSubflows, step.Completed, step.LostEvents, step.SystemLost, step.Why)
		if ctx.Err() != nil {
			return row, ctx.Err()
		}
		if !step.Held {
			break
		}
		row.HighestRate = rate
	}
	user1, sys1 := l.cpu()
	row.CPUSeconds = user1 - user0 + sys1 - sys0
	if l.proc != nil && row.Connections > 0 {
		n := float64(row.Connections)
		row.CPUPerConn = row.CPUSeconds / n * 1e6
		row.UserPerConn = (user1 - user0) / n * 1e6
		row.SysPerConn = (sys1 - sys0) / n * 1e6
	}
	row.Outcome = churnOutcome(row, c.sizes.churnRates, l.hint())
	return row, nil
}

func churnOutcome(row ChurnRow, rates []float64, hint string) Outcome {
	if row.HighestRate == 0 {
		why := "no rate held"
		if len(row.Steps) > 0 {
			why += fmt.Sprintf(" (at %.0f/s: %s)", row.Steps[0].Target, row.Steps[0].Why)
		}
		if hint != "" {
			why += "; log: " + hint
		}
		return Outcome{Status: StatusNotDone, Reason: why}
	}
	o := Outcome{Status: StatusOK}
	if row.HighestRate == rates[len(rates)-1] {
		o.Reason = "held at the top of the ladder: the limit may be higher"
	}
	return o
}

// cpu returns the path manager's user and system CPU seconds; 0 for the
// in-kernel PM, whose work runs in softirq and kernel workers.
func (l *lab) cpu() (user, sys float64) {
	if l.proc == nil {
		return 0, 0
	}
	user, sys, _ = l.proc.cpuSeconds()
	return user, sys
}

// churnTally counts the outcomes of one step's connections.
type churnTally struct {
	mu                                   sync.Mutex
	started, completed, full, dialErrors int
}

func churnStep(ctx context.Context, l *lab, obs *observer, addrs []string, rate float64, sz sizes) ChurnStep {
	step := ChurnStep{Target: rate}
	lost0, sysLost0 := obs.lostEvents(), l.systemLost()
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, churnInflight)
	var wg sync.WaitGroup
	var t churnTally

	start := time.Now()
	deadline := start.Add(sz.churnStep)
	for i := 0; ctx.Err() == nil; i++ {
		next := start.Add(time.Duration(i) * interval)
		if !next.Before(deadline) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Until(next))
		sem <- struct{}{}
		t.started++
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			res := oneConnection(ctx, l, obs, addr, sz.joinTimeout)
			<-sem
			t.mu.Lock()
			defer t.mu.Unlock()
			switch {
			case res.err != nil:
				t.dialErrors++
			case len(res.subflows) >= l.expected():
				t.completed++
				t.full++
			default:
				t.completed++
			}
		}(addrs[i%len(addrs)])
	}
	wg.Wait()

	// The rate counts the whole step, until the last connection closed,
	// so a generator or system that falls behind shows a lower rate.
	elapsed := max(time.Since(start), sz.churnStep)
	step.Started, step.Completed = t.started, t.completed
	step.WithSubflows, step.DialErrors = t.full, t.dialErrors
	step.Achieved = float64(t.completed) / elapsed.Seconds()
	step.LostEvents = obs.lostEvents() - lost0
	step.SystemLost = l.systemLost() - sysLost0
	step.Why = churnWhy(step)
	step.Held = step.Why == ""
	return step
}

func churnWhy(s ChurnStep) string {
	var why []string
	if s.Achieved < 0.95*s.Target {
		why = append(why, fmt.Sprintf("achieved %.0f/s of %.0f/s", s.Achieved, s.Target))
	}
	if s.WithSubflows < s.Completed {
		why = append(why, fmt.Sprintf("%d of %d connections without all subflows", s.Completed-s.WithSubflows, s.Completed))
	}
	if s.DialErrors > 0 {
		why = append(why, fmt.Sprintf("%d connections failed", s.DialErrors))
	}
	if s.LostEvents > 0 || s.SystemLost > 0 {
		why = append(why, fmt.Sprintf("lost events: listener %d, path manager %d", s.LostEvents, s.SystemLost))
	}
	return strings.Join(why, "; ")
}

// systemLost returns the event-loss lines the path manager logged.
func (l *lab) systemLost() int {
	if l.proc == nil {
		return 0
	}
	n := 0
	for _, s := range l.proc.watch {
		n += l.proc.count(s)
	}
	return n
}
