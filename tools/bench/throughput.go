package main

import (
	"context"
	"fmt"
	"net"
)

// throughputSystems are the configurations of the data-path figure: the
// daemon with and without its BPF programs gives the overhead.
var throughputSystems = []sysSpec{sysKernel, sysAddrAdv, sysSSPI, sysDaemon, sysDaemonNoBPF}

// figThroughput measures bulk MPTCP goodput over two unshaped veth
// paths for each configuration, alternating them in each round.
func figThroughput(ctx context.Context, c *config, r *Results) error {
	runs := map[string]*ThroughputRow{}
	for round := 0; round < c.sizes.bulkRounds; round++ {
		for _, spec := range rotate(throughputSystems, round) {
			rep, err := measureBulk(ctx, c, spec)
			if err != nil {
				return err
			}
			row := runs[spec.Name]
			if row == nil {
				row = &ThroughputRow{System: spec.Name}
				runs[spec.Name] = row
			}
			row.Mbps = append(row.Mbps, rep.Mbps)
			row.Subflows = append(row.Subflows, rep.subflows())
			logf("bulk %s round %d: %.0f Mbit/s, %d subflows", spec.Name, round, rep.Mbps, rep.subflows())
		}
	}
	for _, spec := range throughputSystems {
		row := runs[spec.Name]
		row.Median = Median(row.Mbps)
		row.Ratio = Ratio(row.Median, runs[sysKernel.Name].Median)
		row.Outcome = bulkOutcome(row.Subflows)
		r.Throughput = append(r.Throughput, *row)
	}
	return nil
}

func bulkOutcome(subflows []int) Outcome {
	short := 0
	for _, n := range subflows {
		if n < 2 {
			short++
		}
	}
	if short == 0 {
		return Outcome{Status: StatusOK}
	}
	st := StatusPartial
	if short == len(subflows) {
		st = StatusNotDone
	}
	return Outcome{Status: st, Reason: fmt.Sprintf("%d of %d transfers ran on one subflow", short, len(subflows))}
}

func measureBulk(ctx context.Context, c *config, spec sysSpec) (*bulkReport, error) {
	l, err := buildLab(spec, 2)
	if err != nil {
		return nil, err
	}
	defer l.close()
	addr := net.JoinHostPort(l.topo.Paths[0].ServerAddr.String(), "5201")
	srv, err := startServers(c, l.topo.Server, []string{addr})
	if err != nil {
		return nil, err
	}
	defer stopAll(srv)
	// With the userspace PM the kernel accepts joins only while some
	// socket listens to the events; a listener makes sure of it.
	obs, err := newObserver(l.topo.Client, l.expected())
	if err != nil {
		return nil, err
	}
	defer obs.close()
	if err := l.start(c); err != nil {
		return nil, err
	}
	return runBulk(ctx, c, l, addr, c.sizes.bulk, 0, nil)
}
