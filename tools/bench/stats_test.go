package main

import (
	"math"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	xs := []float64{15, 20, 35, 40, 50}
	for _, tc := range []struct{ p, want float64 }{
		{0, 15}, {5, 15}, {30, 20}, {40, 20}, {50, 35}, {99, 50}, {100, 50},
	} {
		if got := Percentile(xs, tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", xs, tc.p, got, tc.want)
		}
	}
}

func TestPercentileEmpty(t *testing.T) {
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(nil, 50) = %v, want NaN", got)
	}
}

func TestPercentileKeepsInput(t *testing.T) {
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("Median reordered its input: %v", xs)
	}
}

func TestSummarizeHundred(t *testing.T) {
	var xs []float64
	for i := 100; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	got := Summarize(xs)
	want := Summary{N: 100, P50: 50, P99: 99, Mean: 50.5, Min: 1, Max: 100}
	if got != want {
		t.Errorf("Summarize(1..100) = %+v, want %+v", got, want)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}

func TestRatioUndefined(t *testing.T) {
	for _, tc := range [][2]float64{{1, 0}, {0, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {-1, 2}} {
		if got := Ratio(tc[0], tc[1]); got != 0 {
			t.Errorf("Ratio(%v, %v) = %v, want 0", tc[0], tc[1], got)
		}
	}
}

func TestRatioDefined(t *testing.T) {
	if got := Ratio(3, 2); got != 1.5 {
		t.Errorf("Ratio(3, 2) = %v, want 1.5", got)
	}
}
