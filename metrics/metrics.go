package metrics

import (
	"errors"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sys/unix"
)

// namespace prefixes every metric name of the daemon.
const namespace = "mptcp_bpf_pm"

// DefaultMaxSubflows is the default bound on subflows with their own
// series.
const DefaultMaxSubflows = 256

// maxLabelValues caps the distinct values of one label of one metric.
const maxLabelValues = 64

// Options selects what New exports.
type Options struct {
	// Subflows exports per-subflow gauges and counters, labelled with
	// the connection token and the subflow's addresses.
	Subflows bool
	// MaxSubflows bounds the subflows exported with their own series;
	// the rest are counted in mptcp_bpf_pm_subflow_series_omitted.
	// 0 means DefaultMaxSubflows.
	MaxSubflows int
}

// Metrics holds the daemon's metrics and their registry.
type Metrics struct {
	reg      *prometheus.Registry
	events   *cappedCounter
	commands *cappedCounter
	records  prometheus.Counter
	polls    *prometheus.CounterVec
	pollTime prometheus.Histogram
	state    *stateCollector
}

// New returns metrics registered on a new registry.
func New(opts Options) *Metrics {
	if opts.MaxSubflows <= 0 {
		opts.MaxSubflows = DefaultMaxSubflows
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		events: newCappedCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_total",
			Help: "Path-manager events received from the kernel, by event type.",
		}, "type"),
		commands: newCappedCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "commands_total",
			Help: "Path-manager commands sent to the kernel, by command and result (ok, or the errno name).",
		}, "command", "result"),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "ring_records_total",
			Help: "Statistics records read from the BPF ring buffer.",
		}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "diag_polls_total",
			Help: "inet_diag polls of MPTCP connections, by result (ok or error).",
		}, []string{"result"}),
		pollTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "diag_poll_duration_seconds",
			Help:    "Duration of one inet_diag poll of MPTCP connections and subflows.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}),
		state: newStateCollector(opts),
	}
	m.polls.WithLabelValues("ok")
	m.polls.WithLabelValues("error")
	m.reg.MustRegister(m.events, m.commands, m.records, m.polls,
		m.pollTime, m.state,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	return m
}

// Registry returns the registry that holds every metric, for tests and
// for callers that add their own collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Event counts one path-manager event, such as "SUB_ESTABLISHED".
func (m *Metrics) Event(typ string) {
	if m != nil {
		m.events.inc(typ)
	}
}

// Command counts one command sent to the kernel, such as
// "subflow_create", with its error or nil.
func (m *Metrics) Command(cmd string, err error) {
	if m != nil {
		m.commands.inc(cmd, resultLabel(err))
	}
}

// resultLabel returns "ok", the errno name of err, such as "EEXIST", or
// "error", so that the label stays bounded whatever the message.
func resultLabel(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return "error"
}

// RingRecords counts n records read from the BPF ring buffer.
func (m *Metrics) RingRecords(n uint64) {
	if m != nil {
		m.records.Add(float64(n))
	}
}

// RingDrops sets the cumulative number of records the BPF programs lost
// for one reason, such as "ring_full" or "storage", as read from their
// drop counters.
func (m *Metrics) RingDrops(reason string, total uint64) {
	if m != nil {
		m.state.setDrops(reason, total)
	}
}

// DiagPoll counts one inet_diag poll that took d and failed with err, or
// succeeded when err is nil.
func (m *Metrics) DiagPoll(err error, d time.Duration) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.polls.WithLabelValues(result).Inc()
	m.pollTime.Observe(d.Seconds())
}
