package main

import (
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	a := "table inet zonewall {\n\tset s {\n\t\telements = { 1, 2 }\n\t}\n\tchain c {\n\t\taccept\n\t}\n}\n"
	b := "table inet zonewall {\n\tset s {\n\t\telements = { 1, 2, 3 }\n\t}\n\tchain c {\n\t\taccept\n\t}\n}\n"
	got := unifiedDiff("live", "planned", a, b, 1)
	want := "--- live\n+++ planned\n@@ -2,3 +2,3 @@\n set s {\n-elements = { 1, 2 }\n+elements = { 1, 2, 3 }\n }\n"
	if got != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
	}
	if d := unifiedDiff("a", "b", a, "\n"+strings.ReplaceAll(a, "\t", "    "), 3); d != "" {
		t.Fatalf("layout-only change gave a diff:\n%s", d)
	}
	if d := unifiedDiff("live", "planned", "counter packets 12 bytes 800 drop\n", "counter drop\n", 3); d != "" {
		t.Fatalf("counter values gave a diff:\n%s", d)
	}
}

func TestUnifiedDiffSeparateHunks(t *testing.T) {
	var a, b []string
	for i := range 30 {
		a = append(a, "line"+string(rune('A'+i)))
	}
	b = append(b, a...)
	b[2] = "changed-early"
	b = append(b[:20], append([]string{"inserted"}, b[20:]...)...)
	d := unifiedDiff("a", "b", strings.Join(a, "\n"), strings.Join(b, "\n"), 2)
	if strings.Count(d, "@@ ") != 2 {
		t.Fatalf("want 2 hunks:\n%s", d)
	}
	if !strings.Contains(d, "-lineC\n+changed-early\n") || !strings.Contains(d, "+inserted\n") {
		t.Fatalf("diff misses a change:\n%s", d)
	}
	if !strings.Contains(d, "@@ -19,4 +19,5 @@") {
		t.Fatalf("second hunk header wrong:\n%s", d)
	}
}
