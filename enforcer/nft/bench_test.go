package nft

import (
	"fmt"
	"testing"

	"github.com/zonewall/zonewall/enforcer"
)

// benchApplier is an Applier on a fresh namespace (no traffic: apply cost
// is netlink and the kernel's commit).
func benchApplier(b *testing.B) *Applier {
	l := newLab(b)
	a, err := New(WithNetNS(l.fd))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}

func benchRuleset(n int) *enforcer.Ruleset {
	rs, _ := enforcer.Compile(enforcer.BenchPolicy(50), enforcer.BenchInventory(n, 50), enforcer.Options{NflogGroup: 7001})
	return rs
}

func report(b *testing.B, rs *enforcer.Ruleset) {
	b.ReportMetric(float64(rs.RuleCount()), "rules")
	b.ReportMetric(float64(rs.ElementCount()), "elements")
}

// BenchmarkApplyFull: atomic rebuild of both tables with N containers
// across 50 zones.
func BenchmarkApplyFull(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			a := benchApplier(b)
			rs := benchRuleset(n)
			for b.Loop() {
				a.full = true
				if _, err := a.Apply(rs); err != nil {
					b.Fatal(err)
				}
			}
			report(b, rs)
		})
	}
}

// BenchmarkApplyOneChange: one container stops or starts (alternately)
// against N running ones: an element diff in one transaction.
func BenchmarkApplyOneChange(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			a := benchApplier(b)
			with := benchRuleset(n)
			without := benchRuleset(n - 1)
			if _, err := a.Apply(with); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				rs := without
				if i%2 == 1 {
					rs = with
				}
				i++
				st, err := a.Apply(rs)
				if err != nil {
					b.Fatal(err)
				}
				if st.Full || st.Added+st.Removed != 5 {
					b.Fatalf("not a 5-element diff: %+v", st)
				}
			}
			report(b, with)
		})
	}
}

// BenchmarkVerifyContent: a drift check when the generation moved (the
// whole content is listed and compared), and when it did not.
func BenchmarkVerifyContent(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			a := benchApplier(b)
			rs := benchRuleset(n)
			if _, err := a.Apply(rs); err != nil {
				b.Fatal(err)
			}
			report(b, rs)
			b.Run("gen-moved", func(b *testing.B) {
				for b.Loop() {
					a.gen = 0
					if d, err := a.Verify(); d != nil || err != nil {
						b.Fatal(d, err)
					}
				}
			})
			b.Run("gen-same", func(b *testing.B) {
				for b.Loop() {
					if d, err := a.Verify(); d != nil || err != nil {
						b.Fatal(d, err)
					}
				}
			})
		})
	}
}
