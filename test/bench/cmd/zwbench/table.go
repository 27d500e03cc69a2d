package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printTable writes the human-readable summary of a report.
func printTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tzonewall median (p99)\tbaseline median (p99)\tratio\tgoal")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Scenario, f.Name,
			cell(f.Zonewall, f.Unit, f.Note), baselineCell(f), ratioCell(f), goalCell(f.Goal))
	}
	tw.Flush()
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped: %s: %s\n", s.Scenario, s.Reason)
	}
	for _, e := range r.Failures {
		fmt.Fprintf(w, "FAILED: %s\n", e)
	}
}

func cell(s *Summary, unit, note string) string {
	if s == nil || s.N == 0 {
		if note != "" {
			return note
		}
		return "-"
	}
	out := fmt.Sprintf("%s (%s) %s", num(s.Median), num(s.P99), unit)
	if note != "" {
		out += " " + note
	}
	return out
}

func baselineCell(f Figure) string {
	if f.Baseline == nil {
		return "-"
	}
	return fmt.Sprintf("%s: %s", f.BaselineName, cell(f.Baseline, f.Unit, ""))
}

func ratioCell(f Figure) string {
	if f.Ratio == 0 {
		return "-"
	}
	if f.Better == "higher" {
		return fmt.Sprintf("%.0f %%", f.Ratio*100)
	}
	return fmt.Sprintf("%.3gx", f.Ratio)
}

func goalCell(g *Goal) string {
	if g == nil {
		return ""
	}
	verdict := "NOT MET"
	if g.Met {
		verdict = "met"
	}
	return g.Text + ": " + verdict
}

// num formats a figure with about three significant digits.
func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return strings.TrimSuffix(fmt.Sprintf("%.0f", v), ".")
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
