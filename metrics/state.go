package metrics

import (
	"fmt"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mptcp-bpf-pm/mptcp-bpf-pm/control"
)

// Descriptions of the metrics that a snapshot of the daemon's state sets.
var (
	connectionsDesc = prometheus.NewDesc(namespace+"_connections",
		"MPTCP connections the daemon tracks.", nil, nil)
	subflowsDesc = prometheus.NewDesc(namespace+"_subflows",
		"Subflows of tracked connections, by state.", []string{"state"}, nil)
	dropsDesc = prometheus.NewDesc(namespace+"_ring_drops_total",
		"Statistics records the BPF programs lost, by reason.", []string{"reason"}, nil)
	omittedDesc = prometheus.NewDesc(namespace+"_subflow_series_omitted",
		"Subflows left out of the per-subflow series by the series limit.", nil, nil)
)

// Per-subflow series, labelled by connection token and 4-tuple.
var (
	subflowLabels = []string{"token", "local", "remote"}
	srttDesc      = prometheus.NewDesc(namespace+"_subflow_srtt_seconds",
		"Smoothed round-trip time of the subflow.", subflowLabels, nil)
	cwndDesc = prometheus.NewDesc(namespace+"_subflow_cwnd_segments",
		"Congestion window of the subflow.", subflowLabels, nil)
	sentDesc = prometheus.NewDesc(namespace+"_subflow_sent_bytes_total",
		"Bytes the subflow sent, retransmissions included.", subflowLabels, nil)
	ackedDesc = prometheus.NewDesc(namespace+"_subflow_acked_bytes_total",
		"Bytes the peer acknowledged on the subflow.", subflowLabels, nil)
	retransDesc = prometheus.NewDesc(namespace+"_subflow_retransmitted_segments_total",
		"Segments the subflow retransmitted.", subflowLabels, nil)
	backupDesc = prometheus.NewDesc(namespace+"_subflow_backup",
		"1 when the subflow carries the backup flag, else 0.", subflowLabels, nil)
)

// DaemonStates are the subflow states the daemon reports; each is always
// exported, at 0 when no subflow is in it.
var DaemonStates = []string{control.StatePending, control.StateEstablished, control.StateClosed}

// stateCollector exports the latest snapshot of the daemon's state, so
// that a scrape never reads a half-updated set.
type stateCollector struct {
	opts        Options
	mu          sync.Mutex
	connections int
	subflows    map[string]int
	drops       map[string]uint64
	series      []control.Connection
}

func newStateCollector(opts Options) *stateCollector {
	s := &stateCollector{opts: opts, subflows: map[string]int{}, drops: map[string]uint64{}}
	for _, st := range DaemonStates {
		s.subflows[st] = 0
	}
	return s
}

func (s *stateCollector) setDrops(reason string, total uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.drops[reason]; !ok && len(s.drops) >= maxLabelValues {
		reason = otherLabel
	}
	s.drops[reason] = total
}

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{connectionsDesc, subflowsDesc, dropsDesc,
		omittedDesc, srttDesc, cwndDesc, sentDesc, ackedDesc, retransDesc, backupDesc} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(s.connections))
	for st, n := range s.subflows {
		ch <- prometheus.MustNewConstMetric(subflowsDesc, prometheus.GaugeValue, float64(n), st)
	}
	for reason, n := range s.drops {
		ch <- prometheus.MustNewConstMetric(dropsDesc, prometheus.CounterValue, float64(n), reason)
	}
	if !s.opts.Subflows {
		return
	}
	exported := 0
	total := 0
	for _, c := range s.series {
		for i := range c.Subflows {
			total++
			if exported < s.opts.MaxSubflows {
				collectSubflow(ch, c.Token, &c.Subflows[i])
				exported++
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(omittedDesc, prometheus.GaugeValue, float64(total-exported))
}

func collectSubflow(ch chan<- prometheus.Metric, token uint32, sf *control.Subflow) {
	labels := []string{fmt.Sprintf("%08x", token), sf.Local.String(), sf.Remote.String()}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(srttDesc, float64(sf.SRTTUs)/1e6)
	gauge(cwndDesc, float64(sf.SndCwnd))
	counter(sentDesc, float64(sf.BytesSent))
	counter(ackedDesc, float64(sf.BytesAcked))
	counter(retransDesc, float64(sf.TotalRetrans))
	backup := 0.0
	if sf.Backup {
		backup = 1
	}
	gauge(backupDesc, backup)
}

// SetConnections sets the number of tracked connections.
func (m *Metrics) SetConnections(n int) {
	if m == nil {
		return
	}
	m.state.mu.Lock()
	m.state.connections = n
	m.state.mu.Unlock()
}

// SetSubflows sets the number of subflows in one state.
func (m *Metrics) SetSubflows(state string, n int) {
	if m == nil {
		return
	}
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	if _, ok := m.state.subflows[state]; !ok && len(m.state.subflows) >= maxLabelValues {
		state = otherLabel
	}
	m.state.subflows[state] = n
}

// Observe replaces the connection, subflow-state and per-subflow values
// with those of conns, the daemon's current table. Subflows gone from
// conns disappear from the per-subflow series. Series follow the order of
// token, then local and remote address, so that the same subflows stay
// exported when the limit cuts.
func (m *Metrics) Observe(conns []control.Connection) {
	if m == nil {
		return
	}
	states := make(map[string]int, len(DaemonStates))
	for _, st := range DaemonStates {
		states[st] = 0
	}
	for _, c := range conns {
		for _, sf := range c.Subflows {
			if _, ok := states[sf.State]; ok || len(states) < maxLabelValues {
				states[sf.State]++
			} else {
				states[otherLabel]++
			}
		}
	}
	var series []control.Connection
	if m.state.opts.Subflows {
		series = sortedCopy(conns)
	}
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	m.state.connections = len(conns)
	m.state.subflows = states
	m.state.series = series
}

func sortedCopy(conns []control.Connection) []control.Connection {
	out := make([]control.Connection, len(conns))
	for i, c := range conns {
		c.Subflows = append([]control.Subflow(nil), c.Subflows...)
		sort.Slice(c.Subflows, func(a, b int) bool {
			x, y := c.Subflows[a], c.Subflows[b]
			if x.Local != y.Local {
				return x.Local.Compare(y.Local) < 0
			}
			return x.Remote.Compare(y.Remote) < 0
		})
		out[i] = c
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Token < out[b].Token })
	return out
}
