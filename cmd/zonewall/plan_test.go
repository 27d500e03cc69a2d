package main

import (
	"bytes"
	"strings"
	"testing"
)

const (
	liveRuleset    = "table inet zonewall {\n\tset s {\n\t\telements = { 1, 2 }\n\t}\n\tchain c {\n\t\tct state established accept\n\t\tmeta mark 1 accept\n\t\tcounter packets 12 bytes 800 drop\n\t}\n}\n"
	plannedRuleset = "table inet zonewall {\n\tset s {\n\t\telements = { 1, 2, 3 }\n\t}\n\tchain c {\n\t\tct state established accept\n\t\tmeta mark 1 accept\n\t\tcounter drop\n\t}\n}\n"
)

func TestPlanShowsOnlyTheChanges(t *testing.T) {
	p := makePlan("zones.d", 2, plannedRuleset, liveRuleset)
	if !p.Changes || !p.Live || p.Added != 1 || p.Removed != 1 {
		t.Fatalf("plan = %+v", p)
	}
	want := "--- live\n+++ planned\n@@ -1,6 +1,6 @@\n table inet zonewall {\n \tset s {\n-\t\telements = { 1, 2 }\n+\t\telements = { 1, 2, 3 }\n \t}\n \tchain c {\n \t\tct state established accept\n"
	if p.Diff != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", p.Diff, want)
	}
	var out bytes.Buffer
	printPlan(&out, p, false)
	if strings.Contains(out.String(), "counter drop") || !strings.HasSuffix(out.String(), "# 1 line to add, 1 to remove\n") {
		t.Fatalf("plan without --full shows unchanged lines or no summary:\n%s", out.String())
	}
	out.Reset()
	printPlan(&out, p, true)
	if !strings.Contains(out.String(), "\t\tcounter drop\n") {
		t.Fatalf("--full does not show the whole ruleset:\n%s", out.String())
	}
}

func TestPlanIgnoresCountersAndLayout(t *testing.T) {
	live := "\n" + strings.ReplaceAll(plannedRuleset, "counter drop", "counter packets 5 bytes 300 drop") + "\n\n"
	p := makePlan("zones.d", 0, plannedRuleset, live)
	if p.Changes || p.Diff != "" {
		t.Fatalf("counter values or blank lines made a change: %+v", p)
	}
	var out bytes.Buffer
	printPlan(&out, p, false)
	if !strings.Contains(out.String(), "# no changes") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestPlanWithoutLiveTableAddsEverything(t *testing.T) {
	p := makePlan("zones.d", 0, plannedRuleset, "")
	if p.Live || !p.Changes || p.Removed != 0 || p.Added != strings.Count(plannedRuleset, "\n") {
		t.Fatalf("plan = %+v", p)
	}
}

func TestPlanFlags(t *testing.T) {
	// Flags are parsed before anything runs: an unknown format is a usage
	// error even where plan could not reach Docker.
	if code, _, errOut := run(t, "plan", "-o", "yaml"); code != exitUsage || !strings.Contains(errOut, "want text or json") {
		t.Errorf("plan -o yaml = %d, %q", code, errOut)
	}
	_, out, _ := run(t, "plan", "--help")
	for _, f := range []string{"--detailed-exitcode", "--full", "--docker-host", "-o, --output"} {
		if !strings.Contains(out, f) {
			t.Errorf("plan --help lacks %s", f)
		}
	}
}
