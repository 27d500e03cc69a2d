package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// NameSample is what egress by name counted for one zone and DNS name
// (name "" gathers the lookups that opened nothing).
type NameSample struct {
	Zone, Name string
	Lookups    map[string]uint64 // by outcome: allowed, forwarded, rate_limited, upstream_failed, ...
	AddrsAdded uint64            // addresses handed to the kernel
	CapHits    uint64            // answers cut to the per-name address cap
	LiveAddrs  int               // addresses open now
}

// NameSource reads the forwarder's counters at scrape time.
type NameSource func() []NameSample

var (
	descDNSLookups = prometheus.NewDesc(namespace+"_dns_lookups_total",
		"DNS queries containers sent through zonewall's forwarder, by zone, name (\"\" when nothing was opened) and outcome.",
		[]string{"zone", "name", "outcome"}, nil)
	descDNSAdded = prometheus.NewDesc(namespace+"_dns_addresses_added_total",
		"Addresses DNS answers opened in the kernel (with a timeout of TTL + grace), by zone and name.",
		[]string{"zone", "name"}, nil)
	descDNSCap = prometheus.NewDesc(namespace+"_dns_cap_hits_total",
		"DNS answers with more addresses than the per-name cap (the rest were removed from the answer).",
		[]string{"zone", "name"}, nil)
	descDNSLive = prometheus.NewDesc(namespace+"_dns_live_addresses",
		"Addresses a name holds open now, by zone and name (expired ones have left).",
		[]string{"zone", "name"}, nil)
)

type nameCollector struct {
	mu  sync.Mutex
	src NameSource
}

// SetNameSource exports egress-by-name counters (zonewall_dns_*).
func (m *Metrics) SetNameSource(src NameSource) {
	c := &nameCollector{src: src}
	m.reg.MustRegister(c)
}

func (c *nameCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDNSLookups
	ch <- descDNSAdded
	ch <- descDNSCap
	ch <- descDNSLive
}

func (c *nameCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.src() {
		for outcome, n := range s.Lookups {
			ch <- prometheus.MustNewConstMetric(descDNSLookups, prometheus.CounterValue, float64(n), s.Zone, s.Name, outcome)
		}
		if s.Name == "" {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descDNSAdded, prometheus.CounterValue, float64(s.AddrsAdded), s.Zone, s.Name)
		ch <- prometheus.MustNewConstMetric(descDNSCap, prometheus.CounterValue, float64(s.CapHits), s.Zone, s.Name)
		ch <- prometheus.MustNewConstMetric(descDNSLive, prometheus.GaugeValue, float64(s.LiveAddrs), s.Zone, s.Name)
	}
}
