package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeMarkdown writes results.md: the table docs/performance.md and README
// show, with the machine it was measured on.
func writeMarkdown(r *Report, dir string) (string, error) {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Measured %s (%s mode, %.0f s) on %d CPUs (%s), %d MB RAM, kernel %s, Docker %s, %s; load average %s at start, %s at end.\n\n",
		r.Started.Format("2006-01-02 15:04 UTC"), r.Mode, r.Seconds, m.CPUs, m.CPUModel, m.MemoryMB, m.Kernel, m.Docker, m.Nft, m.LoadStart, m.LoadEnd)
	b.WriteString("| scenario | figure | zonewall median (p99) | baseline median (p99) | ratio | goal |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.Scenario, f.Name,
			cell(f.Zonewall, f.Unit, f.Note), baselineCell(f), ratioCell(f), goalCell(f.Goal))
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "\nskipped: %s: %s\n", s.Scenario, s.Reason)
	}
	for _, e := range r.Failures {
		fmt.Fprintf(&b, "\nFAILED: %s\n", e)
	}
	path := filepath.Join(dir, "results.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
