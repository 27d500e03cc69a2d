package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Figure is one measured quantity, zonewall side by side with its baseline
// measured in the same run.
type Figure struct {
	Scenario     string         `json:"scenario"` // apply | packet | docker | daemon
	Name         string         `json:"name"`
	Unit         string         `json:"unit"`
	Better       string         `json:"better"` // lower | higher
	Zonewall     *Summary       `json:"zonewall,omitempty"`
	Baseline     *Summary       `json:"baseline,omitempty"`
	BaselineName string         `json:"baseline_name,omitempty"`
	Ratio        float64        `json:"ratio,omitempty"` // zonewall median / baseline median
	Info         map[string]any `json:"info,omitempty"`  // rule and element counts, context
	Goal         *Goal          `json:"goal,omitempty"`
	Note         string         `json:"note,omitempty"`
}

// Goal is a target a figure is held against.
type Goal struct {
	Text string `json:"text"`
	Met  bool   `json:"met"`
}

// Skip records a scenario (or part) that could not run, and why.
type Skip struct {
	Scenario string `json:"scenario"`
	Reason   string `json:"reason"`
}

// Report is everything one run of zwbench produced.
type Report struct {
	Mode     string    `json:"mode"` // quick | full
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Machine  Machine   `json:"machine"`
	Figures  []Figure  `json:"figures"`
	Skipped  []Skip    `json:"skipped,omitempty"`
	Failures []string  `json:"failures,omitempty"`
}

func (r *Report) add(f Figure) {
	if f.Zonewall != nil && f.Baseline != nil {
		f.Ratio = Ratio(f.Zonewall.Median, f.Baseline.Median)
	}
	r.Figures = append(r.Figures, f)
}

func (r *Report) skip(scenario, reason string) {
	r.Skipped = append(r.Skipped, Skip{scenario, reason})
}

func (r *Report) fail(scenario string, err error) {
	r.Failures = append(r.Failures, fmt.Sprintf("%s: %v", scenario, err))
}

// write stores the report as results.json in dir.
func (r *Report) write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("results dir: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write results: %w", err)
	}
	return path, nil
}

func sum(s Summary) *Summary { return &s }

func goalBelow(text string, value, limit float64) *Goal {
	return &Goal{Text: text, Met: value < limit}
}

func goalAtLeast(text string, value, limit float64) *Goal {
	return &Goal{Text: text, Met: value >= limit}
}
