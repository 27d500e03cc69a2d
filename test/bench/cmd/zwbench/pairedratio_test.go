package main

import "testing"

func TestPairedRatioCancelsDrift(t *testing.T) {
	// The machine slows down by half over the run; zonewall is 90 % of the
	// baseline in every round. The ratio of medians would say 90 % only by
	// luck of the ordering; the paired ratio says it exactly.
	base := []float64{1000, 800, 600, 500, 400}
	zw := []float64{900, 720, 540, 450, 360}
	if got := pairedRatio(zw, base); got < 0.8999 || got > 0.9001 {
		t.Fatalf("paired ratio = %v, want 0.9", got)
	}
}

func TestPairedRatioSkipsEmptyRounds(t *testing.T) {
	if got := pairedRatio([]float64{1, 2}, []float64{0, 4}); got != 0.5 {
		t.Fatalf("paired ratio = %v, want 0.5 (round 0 has no baseline)", got)
	}
	if got := pairedRatio(nil, []float64{1}); got != 0 {
		t.Fatalf("paired ratio of nothing = %v, want 0", got)
	}
	if got := pairedRatio([]float64{3, 6, 9}, []float64{3, 3}); got != 1.5 {
		t.Fatalf("paired ratio = %v, want 1.5 (median of 1 and 2 over the paired rounds)", got)
	}
}
