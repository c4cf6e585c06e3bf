package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// jsonWriter prints one JSON object per line. It is safe for concurrent
// use, so that server connections never interleave their lines.
type jsonWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (j *jsonWriter) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(append(b, '\n'))
	return err
}

// mbps converts bytes over seconds to megabits (10^6 bits) per second.
func mbps(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return round3(float64(bytes) * 8 / seconds / 1e6)
}

// round3 keeps three decimals, enough for seconds and Mbit/s in reports.
func round3(f float64) float64 {
	return float64(int64(f*1000+0.5)) / 1000
}
