package enforcer

import (
	"fmt"
	"testing"
)

func BenchmarkCompile(b *testing.B) {
	p := BenchPolicy(50)
	for _, n := range []int{1000, 10000} {
		inv := BenchInventory(n, 50)
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			var rs *Ruleset
			for b.Loop() {
				rs, _ = Compile(p, inv, Options{NflogGroup: 7001})
			}
			b.ReportMetric(float64(rs.RuleCount()), "rules")
			b.ReportMetric(float64(rs.ElementCount()), "elements")
		})
	}
}
