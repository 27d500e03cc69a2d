package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinearRuleCountMatchesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lin.nft")
	n, err := writeLinearRuleset(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	// 100 containers over 50 zones: 2 per zone, 2 peer zones each: 100*2*2.
	if n != 400 || linearRuleCount(100) != 400 {
		t.Fatalf("rules = %d / %d, want 400", n, linearRuleCount(100))
	}
	b, _ := os.ReadFile(path)
	if got := strings.Count(string(b), "add rule"); got != 400 {
		t.Fatalf("file has %d rules", got)
	}
}

func TestLinearAddCoversBothDirections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "add.nft")
	// Container 100 is in z00 (2 members each in z01, z02 as destinations;
	// z48 and z49 open connections to z00, 2 members each).
	n, err := writeLinearAdd(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Fatalf("rules for one container = %d, want 8", n)
	}
	full100, full101 := linearRuleCount(100), linearRuleCount(101)
	if full101-full100 != n {
		t.Fatalf("add file has %d rules, full rulesets differ by %d", n, full101-full100)
	}
}
