package main

import (
	"math"
	"sort"
)

// Summary describes a sample: its size, median, 99th percentile, mean,
// minimum and maximum, in the sample's unit.
type Summary struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Summarize returns the summary of xs; a nil or empty xs gives N 0 and
// zero values.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := sortedCopy(xs)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return Summary{
		N:    len(s),
		P50:  quantile(s, 0.50),
		P99:  quantile(s, 0.99),
		Mean: sum / float64(len(s)),
		Min:  s[0],
		Max:  s[len(s)-1],
	}
}

// Percentile returns the p-th percentile (0 to 100) of xs by the nearest
// rank method: the smallest value with at least p% of the sample at or
// below it. It returns NaN for an empty sample.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return quantile(sortedCopy(xs), p/100)
}

// Median returns the 50th percentile of xs by the nearest rank method.
func Median(xs []float64) float64 { return Percentile(xs, 50) }

func sortedCopy(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s
}

// quantile takes a sorted, non-empty sample and q in [0, 1].
func quantile(s []float64, q float64) float64 {
	rank := int(math.Ceil(q * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Ratio returns a/b, or 0 when either is not a positive finite number.
// It never returns NaN, which encoding/json rejects.
func Ratio(a, b float64) float64 {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return 0
	}
	return a / b
}
