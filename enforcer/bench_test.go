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

// BenchmarkCompileOneChange is what the daemon pays per container start or
// stop: the cache is warm from the previous compile and one container
// appears or disappears (alternately) each time; patched/op should be 1
// (the membership sets patched, not rebuilt).
func BenchmarkCompileOneChange(b *testing.B) {
	p := BenchPolicy(50)
	for _, n := range []int{1000, 10000} {
		without := BenchInventory(n, 50)
		with := without
		with.Containers = append(without.Containers[:n:n], BenchContainer(n, 50))
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			opts := Options{NflogGroup: 7001, Cache: &Cache{}}
			Compile(p, without, opts)
			warm, warmPatched := opts.Cache.Stats().Misses, opts.Cache.Stats().Patched
			i := 0
			for b.Loop() {
				inv := with
				if i%2 == 1 {
					inv = without
				}
				Compile(p, inv, opts)
				i++
			}
			b.ReportMetric(float64(opts.Cache.Stats().Misses-warm)/float64(i), "zoneof/op")
			b.ReportMetric(float64(opts.Cache.Stats().Patched-warmPatched)/float64(i), "patched/op")
		})
	}
}
