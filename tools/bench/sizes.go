package main

import "time"

// sizes are the run lengths and counts of every figure.
type sizes struct {
	latencyConns  int   // connections per system, paths and round
	latencyRounds int   // rounds, systems alternating in each
	latencyPaths  []int // path counts
	joinTimeout   time.Duration

	churnRates []float64 // the ladder, connections per second
	churnStep  time.Duration

	bulk       time.Duration
	bulkRounds int
	freshness  time.Duration

	scalePoints []int // open connections at which RSS is read
	diagAt      int   // open connections when the dumps are timed
	diagReps    int

	failoverRounds int
	failoverRate   string // per path, tc notation
	failoverMbps   float64
	failoverBefore time.Duration
	failoverAfter  time.Duration
}

var fullSizes = sizes{
	latencyConns:  500,
	latencyRounds: 3,
	latencyPaths:  []int{2, 4},
	joinTimeout:   time.Second,

	churnRates: []float64{100, 200, 400, 800, 1600, 2400, 3200, 4800, 6400},
	churnStep:  2 * time.Second,

	bulk:       4 * time.Second,
	bulkRounds: 5,
	freshness:  5 * time.Second,

	scalePoints: []int{1000, 10000},
	diagAt:      5000,
	diagReps:    5,

	failoverRounds: 3,
	failoverRate:   "50mbit",
	failoverMbps:   50,
	failoverBefore: 3 * time.Second,
	failoverAfter:  5 * time.Second,
}

var quickSizes = sizes{
	latencyConns:  30,
	latencyRounds: 1,
	latencyPaths:  []int{2, 4},
	joinTimeout:   time.Second,

	churnRates: []float64{100, 400},
	churnStep:  time.Second,

	bulk:       time.Second,
	bulkRounds: 1,
	freshness:  2 * time.Second,

	scalePoints: []int{100, 1000},
	diagAt:      500,
	diagReps:    3,

	failoverRounds: 1,
	failoverRate:   "50mbit",
	failoverMbps:   50,
	failoverBefore: 2 * time.Second,
	failoverAfter:  3 * time.Second,
}
