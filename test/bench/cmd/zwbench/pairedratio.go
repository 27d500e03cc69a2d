package main

import "sort"

// pairedRatio is the median over rounds of a[i]/b[i]: both variants were
// measured in the same round, minutes apart at most, so the load other
// processes put on the machine, which drifts over a run, cancels out of
// each ratio. It is less noisy than the ratio of the two medians. Rounds
// missing in either sample (a failed run) are left out; 0 when none pair.
func pairedRatio(a, b []float64) float64 {
	rs := roundRatios(a, b)
	if len(rs) == 0 {
		return 0
	}
	return Summarize(rs).Median
}

// pairedSpread is the middle half of the per-round ratios (their 25th and
// 75th percentiles, nearest rank): how much they scatter.
func pairedSpread(a, b []float64) (lo, hi float64) {
	rs := roundRatios(a, b)
	if len(rs) == 0 {
		return 0, 0
	}
	sort.Float64s(rs)
	return percentile(rs, 25), percentile(rs, 75)
}

func roundRatios(a, b []float64) []float64 {
	var rs []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		if b[i] > 0 {
			rs = append(rs, a[i]/b[i])
		}
	}
	return rs
}
