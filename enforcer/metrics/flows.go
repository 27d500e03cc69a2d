package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Verdicts of a flow counter.
const (
	VerdictAllow = "allow"
	VerdictDrop  = "drop"
	// VerdictAudit counts what audit mode would have dropped but accepted.
	VerdictAudit = "audit"
)

// CounterSample is one nftables counter attributed to a zone pair: the
// packets and bytes of connections from zone From to zone To (or world,
// host, unzoned) that were allowed or dropped. Values are the kernel's
// running totals, not increments; a full rebuild of the table restarts
// them, which Prometheus treats as a counter reset.
type CounterSample struct {
	From, To string
	// Flow is the name of the flow that allowed the traffic ("" if unnamed
	// or dropped).
	Flow    string
	Verdict string // VerdictAllow, VerdictDrop or VerdictAudit
	Packets uint64
	Bytes   uint64
}

// CounterSource returns the current counters; it is called at scrape time.
type CounterSource func() ([]CounterSample, error)

var (
	flowPacketsDesc = prometheus.NewDesc(namespace+"_flow_packets_total",
		"Packets between two zones by verdict, from nftables counters.",
		[]string{"from_zone", "to_zone", "flow", "verdict"}, nil)
	flowBytesDesc = prometheus.NewDesc(namespace+"_flow_bytes_total",
		"Bytes between two zones by verdict, from nftables counters.",
		[]string{"from_zone", "to_zone", "flow", "verdict"}, nil)
)

// flowCollector turns counter samples into const metrics at scrape time.
type flowCollector struct {
	mu       sync.Mutex
	source   CounterSource
	snapshot []CounterSample
}

func newFlowCollector() *flowCollector { return &flowCollector{} }

// SetCounterSource makes every scrape read the counters through src (for
// example a netlink dump of the zonewall table). It replaces SetCounters.
func (m *Metrics) SetCounterSource(src CounterSource) {
	m.registerFlows()
	m.flows.mu.Lock()
	defer m.flows.mu.Unlock()
	m.flows.source = src
}

// SetCounters stores a snapshot that scrapes report until the next call.
// It is ignored while a CounterSource is set.
func (m *Metrics) SetCounters(samples []CounterSample) {
	m.registerFlows()
	cp := append([]CounterSample(nil), samples...)
	m.flows.mu.Lock()
	defer m.flows.mu.Unlock()
	m.flows.snapshot = cp
}

// registerFlows registers zonewall_flow_* on first use: a ruleset without
// per zone pair counters must not look like one whose pairs saw no traffic.
func (m *Metrics) registerFlows() {
	m.flowsOnce.Do(func() { m.reg.MustRegister(m.flows) })
}

func (c *flowCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- flowPacketsDesc
	ch <- flowBytesDesc
}

func (c *flowCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	src, samples := c.source, c.snapshot
	c.mu.Unlock()
	if src != nil {
		var err error
		if samples, err = src(); err != nil {
			ch <- prometheus.NewInvalidMetric(flowPacketsDesc, err)
			return
		}
	}
	// Two samples with the same labels (one zone pair counted by several
	// rules) are summed: Prometheus rejects duplicate series.
	type key struct{ from, to, flow, verdict string }
	sums := map[key]*CounterSample{}
	var order []key
	for _, s := range samples {
		k := key{s.From, s.To, s.Flow, s.Verdict}
		if sum, ok := sums[k]; ok {
			sum.Packets += s.Packets
			sum.Bytes += s.Bytes
			continue
		}
		cp := s
		sums[k] = &cp
		order = append(order, k)
	}
	for _, k := range order {
		s := sums[k]
		ch <- prometheus.MustNewConstMetric(flowPacketsDesc, prometheus.CounterValue, float64(s.Packets), k.from, k.to, k.flow, k.verdict)
		ch <- prometheus.MustNewConstMetric(flowBytesDesc, prometheus.CounterValue, float64(s.Bytes), k.from, k.to, k.flow, k.verdict)
	}
}
