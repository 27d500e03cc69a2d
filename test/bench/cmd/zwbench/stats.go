package main

import (
	"math"
	"sort"
)

// Summary describes a sample of measurements (all in one unit).
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P99    float64 `json:"p99"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
}

// Summarize computes the summary of xs; it does not modify xs. An empty
// sample gives a zero Summary with N == 0.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return Summary{
		N:      len(s),
		Median: median(s),
		P99:    percentile(s, 99),
		Min:    s[0],
		Max:    s[len(s)-1],
		Mean:   sum / float64(len(s)),
	}
}

// median of a sorted sample: the mean of the two middle values when even.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// percentile of a sorted sample by the nearest-rank method: the smallest
// value with at least p% of the sample at or below it. With fewer than 100
// values the p99 is therefore the maximum, which is what we want to report.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// Ratio is a/b, or 0 when b is 0 (no baseline figure).
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
