package metrics

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// otherLabel replaces label values past the cap.
const otherLabel = "other"

// cappedCounter is a counter vector that keeps at most maxLabelValues
// label sets; later sets are counted with every label "other".
type cappedCounter struct {
	vec  *prometheus.CounterVec
	mu   sync.Mutex
	seen map[string]bool
}

func newCappedCounter(opts prometheus.CounterOpts, labels ...string) *cappedCounter {
	return &cappedCounter{
		vec:  prometheus.NewCounterVec(opts, labels),
		seen: make(map[string]bool),
	}
}

func (c *cappedCounter) inc(values ...string) {
	key := strings.Join(values, "\x00")
	c.mu.Lock()
	if !c.seen[key] {
		if len(c.seen) >= maxLabelValues {
			for i := range values {
				values[i] = otherLabel
			}
		} else {
			c.seen[key] = true
		}
	}
	c.mu.Unlock()
	c.vec.WithLabelValues(values...).Inc()
}

func (c *cappedCounter) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }
func (c *cappedCounter) Collect(ch chan<- prometheus.Metric) { c.vec.Collect(ch) }
