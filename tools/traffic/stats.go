package main

import (
	"math/rand/v2"
	"slices"
	"time"
)

// maxSamples bounds the latency samples kept in memory. Past it, samples
// are kept by reservoir sampling, so percentiles stay unbiased estimates.
const maxSamples = 1 << 20

// samples collects latencies.
type samples struct {
	d    []time.Duration
	seen int
}

func (s *samples) add(d time.Duration) {
	s.seen++
	if len(s.d) < maxSamples {
		s.d = append(s.d, d)
		return
	}
	if i := rand.IntN(s.seen); i < maxSamples {
		s.d[i] = d
	}
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// summary returns the percentiles by the nearest-rank method, or nil
// without samples.
func (s *samples) summary() *Latency {
	if len(s.d) == 0 {
		return nil
	}
	d := slices.Clone(s.d)
	slices.Sort(d)
	var sum time.Duration
	for _, v := range d {
		sum += v
	}
	return &Latency{
		P50:  ms(rank(d, 0.50)),
		P99:  ms(rank(d, 0.99)),
		Max:  ms(d[len(d)-1]),
		Mean: ms(sum / time.Duration(len(d))),
	}
}

// rank returns the nearest-rank percentile p (0..1) of sorted d.
func rank(d []time.Duration, p float64) time.Duration {
	i := int(float64(len(d))*p+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) float64 {
	return round3(float64(d) / float64(time.Millisecond))
}
