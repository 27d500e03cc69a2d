package nft

import (
	"fmt"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

// BenchmarkCompileApplyOneChange is the daemon's whole path for one
// container start or stop (alternately) against N running ones: a compile
// with the warm cache (patching the membership sets) and the apply of its
// delta in one transaction. sent/op is the elements sent to the kernel.
func BenchmarkCompileApplyOneChange(b *testing.B) {
	p := enforcer.BenchPolicy(50)
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			a := benchApplier(b)
			without := enforcer.BenchInventory(n, 50)
			with := without
			with.Containers = append(without.Containers[:n:n], enforcer.BenchContainer(n, 50))
			opts := enforcer.Options{NflogGroup: 7001, Cache: &enforcer.Cache{}}
			rs, _ := enforcer.Compile(p, without, opts)
			if _, err := a.Apply(rs); err != nil {
				b.Fatal(err)
			}
			sent, i := 0, 0
			for b.Loop() {
				inv := with
				if i%2 == 1 {
					inv = without
				}
				i++
				rs, _ := enforcer.Compile(p, inv, opts)
				st, err := a.Apply(rs)
				if err != nil || st.Full {
					b.Fatalf("apply: %+v, %v", st, err)
				}
				sent += st.Added + st.Removed
			}
			b.ReportMetric(float64(sent)/float64(i), "sent/op")
		})
	}
}
