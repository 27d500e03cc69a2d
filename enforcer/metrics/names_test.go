package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNameMetrics(t *testing.T) {
	m := New(prometheus.NewRegistry(), BuildInfo{})
	m.SetNameSource(func() []NameSample {
		return []NameSample{
			{Zone: "worker", Name: "api.stripe.com", Lookups: map[string]uint64{"allowed": 3}, AddrsAdded: 6, CapHits: 1, LiveAddrs: 2},
			{Zone: "worker", Name: "", Lookups: map[string]uint64{"rate_limited": 7}},
		}
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`zonewall_dns_lookups_total{name="api.stripe.com",outcome="allowed",zone="worker"} 3`,
		`zonewall_dns_lookups_total{name="",outcome="rate_limited",zone="worker"} 7`,
		`zonewall_dns_addresses_added_total{name="api.stripe.com",zone="worker"} 6`,
		`zonewall_dns_cap_hits_total{name="api.stripe.com",zone="worker"} 1`,
		`zonewall_dns_live_addresses{name="api.stripe.com",zone="worker"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(string(body), `zonewall_dns_live_addresses{name=""`) {
		t.Error("the catch-all name has no address gauges")
	}
}
