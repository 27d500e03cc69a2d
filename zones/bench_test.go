package zones

import (
	"fmt"
	"strings"
	"testing"
)

// largePolicy is a zone file with n zones and a chain of n flows.
func largePolicy(n int) string {
	var b strings.Builder
	b.WriteString("zones:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  z%d:\n    members:\n      - compose: p%d/*\n      - {label: \"tier=z%d\", network: net%d}\n", i, i, i, i)
	}
	b.WriteString("flows:\n")
	for i := 0; i+1 < n; i++ {
		fmt.Fprintf(&b, "  - {from: z%d, to: z%d, ports: [tcp/%d, udp/53]}\n", i, i+1, 1000+i)
	}
	b.WriteString("  - {from: world, to: z0, ports: [tcp/443]}\n")
	return b.String()
}

func BenchmarkLoadExample(b *testing.B) {
	for b.Loop() {
		if _, err := Load("../deploy/examples/zones.d"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad500Zones(b *testing.B) {
	dir := b.TempDir()
	writeBenchFile(b, dir, largePolicy(500))
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideWorstCase asks about the last flow of 500, so every flow is
// tried first.
func BenchmarkDecideWorstCase(b *testing.B) {
	dir := b.TempDir()
	writeBenchFile(b, dir, largePolicy(500))
	pol, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	from, to := Peer{Kind: KindWorld}, Peer{Kind: KindZone, Zone: "z0"}
	for b.Loop() {
		if !pol.Decide(from, to, ProtoTCP, 443).Allow {
			b.Fatal("want allow")
		}
	}
}

func BenchmarkZoneOf500Zones(b *testing.B) {
	dir := b.TempDir()
	writeBenchFile(b, dir, largePolicy(500))
	pol, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	c := Container{Name: "x", Image: "busybox", Labels: map[string]string{"tier": "z499"}, Networks: []string{"net499"}}
	for b.Loop() {
		if pol.ZoneOf(c).Zone != "z499" {
			b.Fatal("want z499")
		}
	}
}
