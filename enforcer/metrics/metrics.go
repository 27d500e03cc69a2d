// Package metrics exports zonewall's figures to Prometheus. The daemon calls
// small methods (Applied, DriftRepaired, ...) as things happen; per zone
// pair packet and byte counts come from nftables counters, read at scrape
// time through a callback or set from the daemon's last snapshot.
//
// Every metric is named zonewall_*; README.md in this directory lists them.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "zonewall"

// BuildInfo identifies the running binary (zonewall_build_info labels).
// Empty Revision and GoVersion are filled from the binary's build
// information (vcs.revision, the Go release).
type BuildInfo struct {
	Version   string
	Revision  string
	GoVersion string
}

func (bi BuildInfo) withDefaults() BuildInfo {
	if bi.GoVersion == "" {
		bi.GoVersion = runtime.Version()
	}
	if bi.Revision == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					bi.Revision = s.Value
				}
			}
		}
	}
	if bi.Version == "" {
		bi.Version = "unknown"
	}
	return bi
}

// Metrics holds zonewall's collectors. All methods are safe for concurrent
// use and cheap enough to call from the reconcile loop.
type Metrics struct {
	gatherer prometheus.Gatherer
	reg      prometheus.Registerer

	applies          *prometheus.CounterVec
	applyDuration    *prometheus.HistogramVec
	lastApplyOK      prometheus.Gauge
	driftRepairs     prometheus.Counter
	reloadFailures   prometheus.Counter
	zoneContainers   *prometheus.GaugeVec
	reported         *prometheus.GaugeVec
	findings         prometheus.Gauge
	nflogLost        prometheus.Counter
	nflogOverruns    prometheus.Counter
	nflogLostMu      sync.Mutex
	nflogLostSeen    uint64
	nflogOverrunSeen uint64
	flows            *flowCollector
	flowsOnce        sync.Once
	denies           *denyCollector
	health           *healthCollector
	loggedDrops      *prometheus.CounterVec
}

// New registers zonewall's metrics with reg. With a nil reg, New makes its
// own registry with the Go runtime and process collectors. Handler serves
// reg when reg is also a Gatherer (a *prometheus.Registry is both), else the
// default gatherer.
func New(reg prometheus.Registerer, bi BuildInfo) *Metrics {
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg = r
	}
	m := &Metrics{
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "applies_total",
			Help: "Rulesets programmed into the kernel, by kind (full rebuild or incremental) and result (ok, error).",
		}, []string{"kind", "result"}),
		applyDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "apply_duration_seconds",
			Help:    "Time to compile and program one ruleset, by kind.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"kind"}),
		lastApplyOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_apply_success_timestamp_seconds",
			Help: "Unix time of the last ruleset the kernel accepted (0: none since start).",
		}),
		driftRepairs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "drift_repairs_total",
			Help: "Times the live table no longer matched what zonewall applied and was rebuilt.",
		}),
		reloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "policy_reload_failures_total",
			Help: "Zone-file reloads rejected as invalid (the last valid policy stays enforced).",
		}),
		zoneContainers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "zone_containers",
			Help: "Running containers that are members of each zone.",
		}, []string{"zone"}),
		reported: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "reported_containers",
			Help: "Containers reported by kind (unzoned, conflict, host-network, default-bridge, unfilterable, ...).",
		}, []string{"kind"}),
		findings: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "findings",
			Help: "Findings of the last compile, all kinds together (what `zonewall audit` reports).",
		}),
		nflogLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "nflog_messages_lost_total",
			Help: "Drop log messages the kernel could not deliver to zonewall (the drops still happened).",
		}),
		nflogOverruns: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "nflog_overruns_total",
			Help: "Times the drop log socket's receive buffer overflowed (ENOBUFS).",
		}),
		loggedDrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "logged_drops_total",
			Help: "Drops (audit mode: would-be drops) logged through NFLOG, by source zone, destination zone and the default decision that dropped them. " +
				"The drop log is rate limited per deny chain, so this is a sample, not a total; zonewall_denied_packets_total counts every packet.",
		}, []string{"from_zone", "to_zone", "reason"}),
		flows:  newFlowCollector(),
		denies: &denyCollector{},
		health: &healthCollector{},
		reg:    reg,
	}
	bi = bi.withDefaults()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels identify the running binary.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	})
	buildInfo.Set(1)
	// Both kinds and results exist from the start, so rate() and absent()
	// behave before the first failure.
	for _, kind := range []string{kindFull, kindIncremental} {
		m.applyDuration.WithLabelValues(kind)
		for _, result := range []string{"ok", "error"} {
			m.applies.WithLabelValues(kind, result)
		}
	}
	reg.MustRegister(m.applies, m.applyDuration, m.lastApplyOK, m.driftRepairs, m.reloadFailures,
		m.zoneContainers, m.reported, m.findings, m.nflogLost, m.nflogOverruns, m.denies, m.loggedDrops, m.health, buildInfo)
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	} else {
		m.gatherer = prometheus.DefaultGatherer
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

const (
	kindFull        = "full"
	kindIncremental = "incremental"
)

// ObserveApply records one attempt to program the kernel.
func (m *Metrics) ObserveApply(full bool, d time.Duration, err error) {
	kind := kindIncremental
	if full {
		kind = kindFull
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.applies.WithLabelValues(kind, result).Inc()
	m.applyDuration.WithLabelValues(kind).Observe(d.Seconds())
	if err == nil {
		m.lastApplyOK.SetToCurrentTime()
	}
}

// DriftRepaired counts one repair of a table changed behind zonewall's back.
func (m *Metrics) DriftRepaired() { m.driftRepairs.Inc() }

// ReloadFailed counts one rejected zone-file reload.
func (m *Metrics) ReloadFailed() { m.reloadFailures.Inc() }

// SetZoneMembers replaces the member counts of every zone; zones missing
// from counts disappear from the output (a zone deleted from the policy).
func (m *Metrics) SetZoneMembers(counts map[string]int) { setAll(m.zoneContainers, counts) }

// SetReported replaces the counts of reported containers by kind.
func (m *Metrics) SetReported(byKind map[string]int) { setAll(m.reported, byKind) }

// LoggedDrop counts one drop read from the NFLOG drop log.
func (m *Metrics) LoggedDrop(fromZone, toZone, reason string) {
	m.loggedDrops.WithLabelValues(fromZone, toZone, reason).Inc()
}

// SetFindings sets the number of findings of the last compile.
func (m *Metrics) SetFindings(n int) { m.findings.Set(float64(n)) }

// SetNFLOGLoss takes the drop log reader's running totals (nflog.Reader's
// Lost and Overruns) and advances the counters by what is new. A smaller
// total than before means the reader was reopened: its totals start again.
func (m *Metrics) SetNFLOGLoss(lost, overruns uint64) {
	m.nflogLostMu.Lock()
	defer m.nflogLostMu.Unlock()
	m.nflogLost.Add(float64(delta(&m.nflogLostSeen, lost)))
	m.nflogOverruns.Add(float64(delta(&m.nflogOverrunSeen, overruns)))
}

func delta(seen *uint64, total uint64) uint64 {
	d := total - *seen
	if total < *seen {
		d = total
	}
	*seen = total
	return d
}

func setAll(g *prometheus.GaugeVec, values map[string]int) {
	// Reset then set is not atomic for a concurrent scrape; a scrape in
	// between sees fewer series once, which the next scrape corrects.
	g.Reset()
	for k, v := range values {
		g.WithLabelValues(k).Set(float64(v))
	}
}

// The daemon's Metrics interface (enforcer/daemon) spells these differently.

// Applied is ObserveApply.
func (m *Metrics) Applied(full bool, d time.Duration, err error) { m.ObserveApply(full, d, err) }

// ZoneMembers is SetZoneMembers.
func (m *Metrics) ZoneMembers(counts map[string]int) { m.SetZoneMembers(counts) }

// Reported is SetFindings.
func (m *Metrics) Reported(findings int) { m.SetFindings(findings) }
