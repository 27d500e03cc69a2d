package main

import "testing"

func TestSummarizeOddAndEven(t *testing.T) {
	odd := Summarize([]float64{5, 1, 3})
	if odd.N != 3 || odd.Median != 3 || odd.Min != 1 || odd.Max != 5 || odd.Mean != 3 {
		t.Fatalf("odd sample: %+v", odd)
	}
	even := Summarize([]float64{4, 1, 3, 2})
	if even.Median != 2.5 {
		t.Fatalf("even median = %v, want 2.5", even.Median)
	}
}

func TestSummarizeDoesNotReorderInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Summarize(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Fatalf("input reordered: %v", in)
	}
}

func TestP99NearestRank(t *testing.T) {
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64(i + 1) // 1..200
	}
	if got := Summarize(xs).P99; got != 198 {
		t.Fatalf("p99 of 1..200 = %v, want 198", got)
	}
	// Fewer than 100 values: p99 is the maximum.
	if got := Summarize([]float64{1, 2, 10}).P99; got != 10 {
		t.Fatalf("p99 of 3 values = %v, want the max 10", got)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	if s := Summarize(nil); s.N != 0 || s.Median != 0 {
		t.Fatalf("empty: %+v", s)
	}
}

func TestRatio(t *testing.T) {
	if Ratio(1, 4) != 0.25 || Ratio(1, 0) != 0 {
		t.Fatal("ratio")
	}
}
