package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLoggedDropsByZonePair(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.LoggedDrop("web", "db", "no-flow-container")
	m.LoggedDrop("web", "db", "no-flow-container")
	m.LoggedDrop("unknown", "world", "unknown-port")
	want := `
# HELP zonewall_logged_drops_total Drops (audit mode: would-be drops) logged through NFLOG, by source zone, destination zone and the default decision that dropped them. The drop log is rate limited per deny chain, so this is a sample, not a total; zonewall_denied_packets_total counts every packet.
# TYPE zonewall_logged_drops_total counter
zonewall_logged_drops_total{from_zone="unknown",reason="unknown-port",to_zone="world"} 1
zonewall_logged_drops_total{from_zone="web",reason="no-flow-container",to_zone="db"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "zonewall_logged_drops_total"); err != nil {
		t.Error(err)
	}
}

// Without per zone pair counters in the ruleset the flow metrics must be
// absent, not a misleading zero; they appear with the first source.
func TestFlowMetricsAbsentUntilACounterSource(t *testing.T) {
	m, reg := newTestMetrics(t)
	body := scrape(t, m)
	if strings.Contains(body, "zonewall_flow_") {
		t.Fatalf("flow metrics exported without a counter source:\n%s", grep(body, "zonewall_flow_"))
	}
	m.SetCounterSource(func() ([]CounterSample, error) {
		return []CounterSample{{From: "web", To: "api", Verdict: VerdictAllow, Packets: 4, Bytes: 240}}, nil
	})
	m.SetCounterSource(nil) // a second call must not register twice (MustRegister would panic)
	m.SetCounters([]CounterSample{{From: "web", To: "api", Verdict: VerdictAllow, Packets: 4, Bytes: 240}})
	if n, err := testutil.GatherAndCount(reg, "zonewall_flow_packets_total"); err != nil || n != 1 {
		t.Fatalf("flow packet series = %d (%v), want 1", n, err)
	}
}
