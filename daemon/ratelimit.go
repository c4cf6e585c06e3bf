package daemon

import (
	"strings"
	"sync"
	"time"
)

// rateLimiter lets one log line per key through per period, so that a
// failure repeating on every event does not flood the log.
type rateLimiter struct {
	mu     sync.Mutex
	period time.Duration
	last   map[string]time.Time
}

func newRateLimiter(period time.Duration) *rateLimiter {
	return &rateLimiter{period: period, last: make(map[string]time.Time)}
}

// allow reports whether a line with this key may be logged now.
func (r *rateLimiter) allow(key ...string) bool {
	k := strings.Join(key, "|")
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.last[k]; ok && now.Sub(t) < r.period {
		return false
	}
	if len(r.last) > 4096 {
		clear(r.last)
	}
	r.last[k] = now
	return true
}
