package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// daemonMetrics is enforcer/daemon's Metrics interface, repeated here so
// that a change on either side shows up as a compile error in this test.
type daemonMetrics interface {
	Applied(full bool, d time.Duration, err error)
	DriftRepaired()
	ReloadFailed()
	ZoneMembers(counts map[string]int)
	Reported(findings int)
	SetReported(byKind map[string]int)
	LoggedDrop(fromZone, toZone, reason string)
}

var _ daemonMetrics = (*Metrics)(nil)

func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return New(reg, BuildInfo{Version: "1.2.3", Revision: "abc123", GoVersion: "go1.26"}), reg
}

func TestApplyMetrics(t *testing.T) {
	m, reg := newTestMetrics(t)
	before := time.Now()
	m.ObserveApply(true, 30*time.Millisecond, nil)
	m.Applied(false, 2*time.Millisecond, nil)
	m.Applied(false, 3*time.Millisecond, nil)
	m.ObserveApply(false, 700*time.Millisecond, errors.New("netlink: EBUSY"))
	m.DriftRepaired()
	m.ReloadFailed()
	m.ReloadFailed()

	want := `
# HELP zonewall_applies_total Rulesets programmed into the kernel, by kind (full rebuild or incremental) and result (ok, error).
# TYPE zonewall_applies_total counter
zonewall_applies_total{kind="full",result="error"} 0
zonewall_applies_total{kind="full",result="ok"} 1
zonewall_applies_total{kind="incremental",result="error"} 1
zonewall_applies_total{kind="incremental",result="ok"} 2
# HELP zonewall_drift_repairs_total Times the live table no longer matched what zonewall applied and was rebuilt.
# TYPE zonewall_drift_repairs_total counter
zonewall_drift_repairs_total 1
# HELP zonewall_policy_reload_failures_total Zone-file reloads rejected as invalid (the last valid policy stays enforced).
# TYPE zonewall_policy_reload_failures_total counter
zonewall_policy_reload_failures_total 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"zonewall_applies_total", "zonewall_drift_repairs_total", "zonewall_policy_reload_failures_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.applyDuration); n != 2 {
		t.Errorf("%d apply duration series, want 2 (full, incremental)", n)
	}
	// 3 ms and 2 ms fall in the 0.005 bucket; 700 ms (a failure) in 1.
	hist := scrape(t, m)
	for _, line := range []string{
		`zonewall_apply_duration_seconds_bucket{kind="incremental",le="0.005"} 2`,
		`zonewall_apply_duration_seconds_bucket{kind="incremental",le="0.5"} 2`,
		`zonewall_apply_duration_seconds_bucket{kind="incremental",le="1"} 3`,
		`zonewall_apply_duration_seconds_count{kind="full"} 1`,
	} {
		if !strings.Contains(hist, line+"\n") {
			t.Errorf("scrape lacks %q", line)
		}
	}
	last := testutil.ToFloat64(m.lastApplyOK)
	if last < float64(before.Unix()) || last > float64(time.Now().Unix()+1) {
		t.Errorf("last successful apply %v, want about %v", last, before.Unix())
	}
}

func TestLastApplySuccessIgnoresFailures(t *testing.T) {
	m, _ := newTestMetrics(t)
	m.ObserveApply(true, time.Millisecond, errors.New("rejected"))
	if v := testutil.ToFloat64(m.lastApplyOK); v != 0 {
		t.Errorf("last successful apply %v after a failure only, want 0", v)
	}
}

func TestMembershipGaugesReplaceOldValues(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetZoneMembers(map[string]int{"web": 3, "api": 2, "db": 1})
	m.ZoneMembers(map[string]int{"web": 4, "api": 0}) // db left the policy
	m.SetReported(map[string]int{"unzoned": 2, "host-network": 1})
	m.SetReported(map[string]int{"unzoned": 1})
	m.Reported(5)
	want := `
# HELP zonewall_findings Findings of the last compile, all kinds together (what ` + "`zonewall audit`" + ` reports).
# TYPE zonewall_findings gauge
zonewall_findings 5
# HELP zonewall_reported_containers Containers reported by kind (unzoned, conflict, host-network, default-bridge, unfilterable, ...).
# TYPE zonewall_reported_containers gauge
zonewall_reported_containers{kind="unzoned"} 1
# HELP zonewall_zone_containers Running containers that are members of each zone.
# TYPE zonewall_zone_containers gauge
zonewall_zone_containers{zone="api"} 0
zonewall_zone_containers{zone="web"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"zonewall_findings", "zonewall_reported_containers", "zonewall_zone_containers"); err != nil {
		t.Error(err)
	}
}

func TestFlowCountersFromSnapshot(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetCounters([]CounterSample{
		{From: "web", To: "api", Flow: "web-api", Verdict: VerdictAllow, Packets: 10, Bytes: 1500},
		{From: "web", To: "db", Verdict: VerdictDrop, Packets: 3, Bytes: 180},
		// The same pair counted by a second rule (IPv6) is summed.
		{From: "web", To: "db", Verdict: VerdictDrop, Packets: 2, Bytes: 160},
	})
	want := `
# HELP zonewall_flow_bytes_total Bytes between two zones by verdict, from nftables counters.
# TYPE zonewall_flow_bytes_total counter
zonewall_flow_bytes_total{flow="",from_zone="web",to_zone="db",verdict="drop"} 340
zonewall_flow_bytes_total{flow="web-api",from_zone="web",to_zone="api",verdict="allow"} 1500
# HELP zonewall_flow_packets_total Packets between two zones by verdict, from nftables counters.
# TYPE zonewall_flow_packets_total counter
zonewall_flow_packets_total{flow="",from_zone="web",to_zone="db",verdict="drop"} 5
zonewall_flow_packets_total{flow="web-api",from_zone="web",to_zone="api",verdict="allow"} 10
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "zonewall_flow_bytes_total", "zonewall_flow_packets_total"); err != nil {
		t.Error(err)
	}
	// The snapshot is a copy: the caller may reuse its slice.
	m.SetCounters(nil)
	if n := testutil.CollectAndCount(m.flows); n != 0 {
		t.Errorf("%d flow series after an empty snapshot, want 0", n)
	}
}

func TestFlowCountersFromSourceAtScrape(t *testing.T) {
	m, _ := newTestMetrics(t)
	calls := 0
	m.SetCounters([]CounterSample{{From: "stale", To: "stale", Verdict: VerdictDrop, Packets: 1}})
	m.SetCounterSource(func() ([]CounterSample, error) {
		calls++
		return []CounterSample{{From: "api", To: "world", Verdict: VerdictAudit, Packets: uint64(calls), Bytes: 60}}, nil
	})
	first := scrape(t, m)
	second := scrape(t, m)
	if !strings.Contains(first, `zonewall_flow_packets_total{flow="",from_zone="api",to_zone="world",verdict="audit"} 1`) ||
		!strings.Contains(second, `zonewall_flow_packets_total{flow="",from_zone="api",to_zone="world",verdict="audit"} 2`) {
		t.Errorf("source not read at each scrape:\n%s\n---\n%s", grep(first, "flow_packets"), grep(second, "flow_packets"))
	}
	if strings.Contains(second, "stale") {
		t.Error("snapshot reported while a source is set")
	}
}

// A failing counter source must not hide the other metrics.
func TestFailingCounterSourceKeepsOtherMetrics(t *testing.T) {
	m, _ := newTestMetrics(t)
	m.DriftRepaired()
	m.SetCounterSource(func() ([]CounterSample, error) { return nil, errors.New("netlink dump interrupted") })
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	if !strings.Contains(body, "zonewall_drift_repairs_total 1") {
		t.Errorf("status %d, other metrics missing:\n%s", rec.Code, body)
	}
	if strings.Contains(body, "zonewall_flow_packets_total{") {
		t.Error("flow counters reported although the source failed")
	}
}

func TestNFLOGLossAdvancesByDelta(t *testing.T) {
	m, _ := newTestMetrics(t)
	m.SetNFLOGLoss(5, 1)
	m.SetNFLOGLoss(5, 1) // no news
	m.SetNFLOGLoss(12, 2)
	m.SetNFLOGLoss(3, 1) // reader reopened: its totals restarted
	if got := testutil.ToFloat64(m.nflogLost); got != 15 {
		t.Errorf("lost %v, want 15", got)
	}
	if got := testutil.ToFloat64(m.nflogOverruns); got != 3 {
		t.Errorf("overruns %v, want 3", got)
	}
}

func TestScrapeOutputIsWellFormed(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetCounters([]CounterSample{{From: "web", To: "api", Verdict: VerdictAllow, Packets: 1, Bytes: 60}})
	m.SetHealthSources(func() bool { return true }, func() bool { return true })
	body := scrape(t, m)
	if !strings.Contains(body, `zonewall_build_info{goversion="go1.26",revision="abc123",version="1.2.3"} 1`) {
		t.Errorf("build info missing:\n%s", grep(body, "build_info"))
	}
	for _, name := range []string{"zonewall_nflog_messages_lost_total 0", "zonewall_last_apply_success_timestamp_seconds 0"} {
		if !strings.Contains(body, name) {
			t.Errorf("scrape lacks %q", name)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestNilRegistererGetsOwnRegistryWithRuntimeMetrics(t *testing.T) {
	a := New(nil, BuildInfo{Version: "a"})
	b := New(nil, BuildInfo{Version: "b"}) // no duplicate registration panic
	body := scrape(t, b)
	if !strings.Contains(body, "go_goroutines") || !strings.Contains(body, `version="b"`) || strings.Contains(body, `version="a"`) {
		t.Errorf("own registry not used:\n%s", grep(body, "build_info"))
	}
	_ = a
}

func TestListenAndServe(t *testing.T) {
	m, _ := newTestMetrics(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "zonewall_build_info") {
		t.Errorf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if err := m.ListenAndServe(context.Background(), "256.0.0.1:1"); err == nil {
		t.Error("ListenAndServe on an invalid address succeeded")
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d\n%s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestDenyCountersFromSource(t *testing.T) {
	m, reg := newTestMetrics(t)
	if n := testutil.CollectAndCount(m.denies); n != 0 {
		t.Errorf("%d deny series without a source, want 0", n)
	}
	applied := false
	m.SetDenyCounterSource(func() (map[string]uint64, error) {
		if !applied {
			return nil, errors.New("nothing applied")
		}
		return map[string]uint64{"no-flow-cc": 12, "spoofed-source": 3}, nil
	})
	if n := testutil.CollectAndCount(m.denies); n != 0 {
		t.Errorf("%d deny series before the first apply, want 0", n)
	}
	applied = true
	want := `
# HELP zonewall_denied_packets_total Packets denied by default, by reason (the default that denied them), from nftables counters (in audit mode: would-be drops that were accepted).
# TYPE zonewall_denied_packets_total counter
zonewall_denied_packets_total{reason="no-flow-cc"} 12
zonewall_denied_packets_total{reason="spoofed-source"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "zonewall_denied_packets_total"); err != nil {
		t.Error(err)
	}
}

func TestBuildInfoDefaults(t *testing.T) {
	m := New(nil, BuildInfo{})
	body := scrape(t, m)
	want := `zonewall_build_info{goversion="` + runtime.Version() + `",`
	if !strings.Contains(body, want) || !strings.Contains(body, `version="unknown"} 1`) {
		t.Errorf("build info without values:\n%s", grep(body, "zonewall_build_info"))
	}
}

func TestHealthGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, BuildInfo{Version: "1.2.3", Revision: "abc"})
	body := scrape(t, m)
	if strings.Contains(body, "zonewall_docker_up") || strings.Contains(body, "zonewall_policy_valid") {
		t.Fatalf("health gauges exported without sources:\n%s", body)
	}
	if !strings.Contains(body, `zonewall_build_info{goversion="`+runtime.Version()+`",revision="abc",version="1.2.3"} 1`) {
		t.Errorf("build_info:\n%s", body)
	}
	up, valid := true, false
	m.SetHealthSources(func() bool { return up }, func() bool { return valid })
	body = scrape(t, m)
	if !strings.Contains(body, "zonewall_docker_up 1\n") || !strings.Contains(body, "zonewall_policy_valid 0\n") {
		t.Fatalf("health gauges:\n%s", body)
	}
	up, valid = false, true
	body = scrape(t, m)
	if !strings.Contains(body, "zonewall_docker_up 0\n") || !strings.Contains(body, "zonewall_policy_valid 1\n") {
		t.Fatalf("health gauges not read at scrape time:\n%s", body)
	}
}
