package metrics

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// DenyCounterSource returns the packet counters of the ruleset's
// default-deny chains keyed by origin ("no-flow-cc", "spoofed-source", ...),
// as enforcer/nft's Applier.Counters does. It is called at scrape time.
type DenyCounterSource func() (map[string]uint64, error)

var deniedDesc = prometheus.NewDesc(namespace+"_denied_packets_total",
	"Packets denied by default, by reason (the default that denied them), from nftables counters (in audit mode: would-be drops that were accepted).",
	[]string{"reason"}, nil)

// denyCollector reads the deny counters at scrape time.
type denyCollector struct {
	mu     sync.Mutex
	source DenyCounterSource
}

// SetDenyCounterSource makes every scrape read the default-deny counters
// through src. Before the first apply src may fail; the scrape then simply
// lacks zonewall_denied_packets_total.
func (m *Metrics) SetDenyCounterSource(src DenyCounterSource) {
	m.denies.mu.Lock()
	defer m.denies.mu.Unlock()
	m.denies.source = src
}

func (c *denyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deniedDesc }

func (c *denyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	src := c.source
	c.mu.Unlock()
	if src == nil {
		return
	}
	counts, err := src()
	if err != nil {
		return
	}
	origins := make([]string, 0, len(counts))
	for o := range counts {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	for _, o := range origins {
		ch <- prometheus.MustNewConstMetric(deniedDesc, prometheus.CounterValue, float64(counts[o]), o)
	}
}
