package dnsproxy

import (
	"context"
	"net"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// benchServe starts the forwarder on loopback with a writer that does
// nothing (the kernel's share is measured in enforcer/nft).
func benchServe(b *testing.B, upstream string) string {
	p := New(Config{Upstreams: []string{upstream}, Writer: writerFunc(func([]Grant) error { return nil }),
		Source: func(netip.Addr) (string, bool) { return "worker", true }, RatePerSec: 1e9, Burst: 1e9})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Serve(ctx, pc, nil); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	p.SetPolicy(benchPolicy(b))
	return pc.LocalAddr().String()
}

func benchPolicy(b *testing.B) *zonesPolicy { return loadPolicyTB(b, "") }

// latencies runs b.N sequential lookups against server and reports the
// median and p99 as metrics.
func latencies(b *testing.B, server string) {
	c := &dns.Client{Timeout: 2 * time.Second}
	m := query("api.test.zw.", dns.TypeA)
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, _, err := c.Exchange(m, server); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkLookupDirect: a container asking the upstream itself.
func BenchmarkLookupDirect(b *testing.B) {
	up := startUpstream(b)
	latencies(b, up.addr)
}

// BenchmarkLookupForwarder: the same lookup through the forwarder (a name
// a domain flow lists: the answer is parsed, its addresses granted).
func BenchmarkLookupForwarder(b *testing.B) {
	up := startUpstream(b)
	latencies(b, benchServe(b, up.addr))
}

// BenchmarkLookupForwarderParallel: lookups/s the forwarder sustains.
func BenchmarkLookupForwarderParallel(b *testing.B) {
	up := startUpstream(b)
	server := benchServe(b, up.addr)
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Timeout: 2 * time.Second}
		m := query("api.test.zw.", dns.TypeA)
		for pb.Next() {
			if _, _, err := c.Exchange(m, server); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
}
