package main

import (
	"strings"
	"testing"
)

func TestReportPacketHoldsZonewallAgainstEveryBaseline(t *testing.T) {
	pv := pathVariants{
		none:      &pathVariant{name: "no ruleset", conn: []float64{100, 50}, bulk: []float64{10, 10}},
		conntrack: &pathVariant{name: conntrackOnlyName, conn: []float64{90, 45}, bulk: []float64{9, 9}},
		linear:    &pathVariant{name: "linear 1000 rules", conn: []float64{80, 40}, bulk: []float64{8, 8}},
		zonewall:  &pathVariant{name: "zonewall 10000 members", conn: []float64{90, 45}, bulk: []float64{9, 9}},
		docker:    &pathVariant{name: dockerIptablesName, conn: []float64{85, 40}, bulk: []float64{9, 9}},
		previous:  &pathVariant{name: previousShapeName, conn: []float64{80, 40}, bulk: []float64{8, 9}},
	}
	r := &Report{}
	reportPacket(r, packetConfig{Rounds: 2}, pv, nil)
	byName := map[string]Figure{}
	for _, f := range r.Figures {
		byName[f.Name] = f
	}
	if len(r.Figures) != 14 {
		t.Fatalf("%d figures, want 2 metrics x (5 baselines + previous shape vs 2): %v", len(r.Figures), byName)
	}
	if prev := byName["new TCP connections/s: "+previousShapeName+" vs no ruleset"]; prev.Ratio < 0.799 || prev.Ratio > 0.801 || prev.Goal != nil {
		t.Fatalf("previous shape vs no ruleset: ratio %v, goal %+v; want 80 %%, no goal", prev.Ratio, prev.Goal)
	}
	if d := byName["new TCP connections/s vs "+dockerIptablesName]; !strings.Contains(d.Note, "median 109 %, middle half 106-112 %") {
		t.Fatalf("vs Docker's rules: note %q", d.Note)
	}
	none := byName["new TCP connections/s vs no ruleset"]
	if none.Goal == nil || none.Goal.Met || none.Ratio < 0.899 || none.Ratio > 0.901 {
		t.Fatalf("vs no ruleset: ratio %v, goal %+v; want 90 %%, not met", none.Ratio, none.Goal)
	}
	ct := byName["new TCP connections/s vs conntrack only"]
	if ct.Goal == nil || !ct.Goal.Met || ct.Ratio != 1 || !strings.Contains(ct.Note, "median 100 %") {
		t.Fatalf("vs conntrack only: ratio %v, goal %+v, note %q; want 100 %%, the 98 %% goal met", ct.Ratio, ct.Goal, ct.Note)
	}
	if lin := byName["bulk TCP throughput vs linear 1000 rules"]; lin.Ratio < 1.124 || lin.Ratio > 1.126 {
		t.Fatalf("bulk vs linear: ratio %v, want 112.5 %%", lin.Ratio)
	}
}

func TestReportPacketWithoutZonewallShowsTheBaselines(t *testing.T) {
	pv := pathVariants{
		none:      &pathVariant{name: "no ruleset", conn: []float64{100}, bulk: []float64{10}},
		conntrack: &pathVariant{name: conntrackOnlyName, conn: []float64{90}, bulk: []float64{9}},
		linear:    &pathVariant{name: "linear 1000 rules", conn: []float64{80}, bulk: []float64{8}},
	}
	r := &Report{}
	reportPacket(r, packetConfig{Rounds: 1}, pv, nil)
	for _, f := range r.Figures {
		if f.Zonewall != nil || f.Goal != nil {
			t.Fatalf("figure %q has a zonewall value or goal without zonewall", f.Name)
		}
	}
	if len(r.Figures) != 6 || !strings.Contains(r.Figures[0].Note, "zonewall skipped") {
		t.Fatalf("figures: %+v", r.Figures)
	}
}
