package enforcer

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGolden renders the ruleset for every combination of the settings
// that shape it and compares with testdata/<combination>.golden.
func TestGolden(t *testing.T) {
	for _, mode := range []string{"enforce", "audit"} {
		for _, dns := range []string{"allow", "deny"} {
			for _, unzoned := range []string{"deny", "allow"} {
				for _, defBridge := range []string{"deny", "allow"} {
					for _, h2c := range []string{"allow", "deny"} {
						s := zones.DefaultSettings()
						s.Mode, s.DNS, s.Unzoned, s.DefaultBridge, s.HostToContainers = mode, dns, unzoned, defBridge, h2c
						name := fmt.Sprintf("%s-dns_%s-unzoned_%s-default_bridge_%s-host_to_containers_%s", mode, dns, unzoned, defBridge, h2c)
						t.Run(name, func(t *testing.T) {
							rs, _ := Compile(withConflictZone(threeTier(s)), mixedInventory(), Options{NflogGroup: 7001})
							compareGolden(t, name, rs.String())
						})
					}
				}
			}
		}
	}
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./enforcer -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("ruleset differs from %s (go test ./enforcer -run TestGolden -update rewrites it):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first differing lines, enough to see what changed.
func lineDiff(want, got string) string {
	wl, gl := splitLines(want), splitLines(got)
	out := ""
	shown := 0
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			out += fmt.Sprintf("line %d:\n  want: %s\n  got:  %s\n", i+1, w, g)
			if shown++; shown == 10 {
				break
			}
		}
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
