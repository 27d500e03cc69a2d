package main

// pairedRatio is the median over rounds of a[i]/b[i]: both variants were
// measured in the same round, minutes apart at most, so the load other
// processes put on the machine, which drifts over a run, cancels out of
// each ratio. It is less noisy than the ratio of the two medians. Rounds
// missing in either sample (a failed run) are left out; 0 when none pair.
func pairedRatio(a, b []float64) float64 {
	var rs []float64
	for i := 0; i < len(a) && i < len(b); i++ {
		if b[i] > 0 {
			rs = append(rs, a[i]/b[i])
		}
	}
	if len(rs) == 0 {
		return 0
	}
	return Summarize(rs).Median
}
