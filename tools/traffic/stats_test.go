package main

import (
	"testing"
	"time"
)

func TestSamplesPercentiles(t *testing.T) {
	var s samples
	for i := 100; i >= 1; i-- {
		s.add(time.Duration(i) * time.Millisecond)
	}
	got := s.summary()
	if got.P50 != 50 {
		t.Errorf("p50 = %v ms, want 50", got.P50)
	}
	if got.P99 != 99 {
		t.Errorf("p99 = %v ms, want 99", got.P99)
	}
	if got.Max != 100 {
		t.Errorf("max = %v ms, want 100", got.Max)
	}
	if got.Mean != 50.5 {
		t.Errorf("mean = %v ms, want 50.5", got.Mean)
	}
}

func TestSamplesEmpty(t *testing.T) {
	var s samples
	if got := s.summary(); got != nil {
		t.Errorf("summary of no samples = %+v, want nil", got)
	}
}

func TestSamplesBounded(t *testing.T) {
	var s samples
	for range maxSamples + 10 {
		s.add(time.Millisecond)
	}
	if len(s.d) != maxSamples {
		t.Errorf("kept %d samples, want %d", len(s.d), maxSamples)
	}
	if s.seen != maxSamples+10 {
		t.Errorf("seen = %d, want %d", s.seen, maxSamples+10)
	}
}
