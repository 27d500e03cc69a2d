package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// HealthSource answers a yes/no question about the daemon at scrape time.
type HealthSource func() bool

var (
	dockerUpDesc = prometheus.NewDesc(namespace+"_docker_up",
		"1 when the Docker Engine API answers, 0 when it does not (the last inventory stays enforced).", nil, nil)
	policyValidDesc = prometheus.NewDesc(namespace+"_policy_valid",
		"1 when the zone files as they are now form a valid policy and that policy is enforced; 0 when the last reload was rejected "+
			"(the last valid policy stays enforced) or no valid policy is known.", nil, nil)
)

// healthCollector asks its sources at scrape time; a source not set is
// not exported (unknown is not "down").
type healthCollector struct {
	mu          sync.Mutex
	dockerUp    HealthSource
	policyValid HealthSource
}

// SetHealthSources sets the questions behind zonewall_docker_up and
// zonewall_policy_valid; either may be nil.
func (m *Metrics) SetHealthSources(dockerUp, policyValid HealthSource) {
	m.health.mu.Lock()
	defer m.health.mu.Unlock()
	m.health.dockerUp, m.health.policyValid = dockerUp, policyValid
}

func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dockerUpDesc
	ch <- policyValidDesc
}

func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	up, valid := c.dockerUp, c.policyValid
	c.mu.Unlock()
	for _, s := range []struct {
		desc *prometheus.Desc
		src  HealthSource
	}{{dockerUpDesc, up}, {policyValidDesc, valid}} {
		if s.src == nil {
			continue
		}
		v := 0.0
		if s.src() {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, v)
	}
}
