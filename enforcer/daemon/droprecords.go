package daemon

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/zonewall/zonewall/enforcer/control"
)

// DropRecorder writes a record of each drop where operators read logs (the
// journal). The daemon calls it through a rate limiter; suppressed counts
// the drops left out since the previous record.
type DropRecorder interface {
	RecordDrop(d control.Drop, suppressed uint64)
}

// Default rate of drop records: enough to see which pairs are dropped, too
// little for a flood to fill the journal (the NFLOG rules are limited to
// 20/s per deny chain already; this bounds all chains together).
const (
	DefaultDropRecordRate  = 10 // per second
	DefaultDropRecordBurst = 50
)

// recordLimiter is a token bucket that counts what it turns away.
type recordLimiter struct {
	mu         sync.Mutex
	rate       float64
	burst      float64
	tokens     float64
	last       time.Time
	suppressed uint64
}

func newRecordLimiter(rate float64, burst int) *recordLimiter {
	return &recordLimiter{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

// allow takes a token at now; ok is false when none is left. suppressed is
// the number of refusals since the last allowed record.
func (l *recordLimiter) allow(now time.Time) (ok bool, suppressed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	if now.After(l.last) {
		l.last = now
	}
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}

// DropFlow renders a drop in the policy's own words, "web -> db tcp/5432",
// so an operator can compare it with (or copy it into) a flow or a policy
// test. Containers outside any zone are "unzoned"; world ends name their
// address (world:IP); a source on a container port that no container has
// (forged, or not classified yet) is unknown:IP.
func DropFlow(d control.Drop) string {
	end := func(s control.DropSide) string {
		switch s.Kind {
		case "container":
			if s.Zone == "" {
				return "unzoned"
			}
			return s.Zone
		case "world":
			return "world:" + s.Addr
		}
		return s.Kind
	}
	src := end(d.Src)
	if d.Src.Kind == "world" && strings.HasPrefix(d.InIface, "veth") {
		src = "unknown:" + d.Src.Addr // from a container port, with no container's address
	}
	port := d.Proto
	if (d.Proto == "tcp" || d.Proto == "udp" || d.Proto == "sctp") && d.Dst.Port != 0 {
		port += "/" + strconv.Itoa(int(d.Dst.Port))
	}
	return src + " -> " + end(d.Dst) + " " + port
}

// isAuditDrop reports a would-be drop of audit mode (accepted, only logged).
func isAuditDrop(d control.Drop) bool { return strings.HasPrefix(d.Prefix, "zw:audit:") }

// dropFields are the structured fields of a drop record; journal field
// names are these upper-cased with a ZONEWALL_ prefix.
func dropFields(d control.Drop, suppressed uint64) [][2]string {
	f := [][2]string{
		{"flow", DropFlow(d)},
		{"direction", d.DirectionOf()},
		{"reason", d.ReasonOf()},
		{"proto", d.Proto},
	}
	side := func(prefix string, s control.DropSide) {
		if s.Container != "" {
			f = append(f, [2]string{prefix + "container", s.Container})
		}
		if s.ContainerID != "" {
			f = append(f, [2]string{prefix + "container_id", s.ContainerID})
		}
		if s.Kind == "container" {
			zone := s.Zone
			if zone == "" {
				zone = "unzoned"
			}
			f = append(f, [2]string{prefix + "zone", zone})
		}
		if s.Service != "" {
			f = append(f, [2]string{prefix + "service", s.Service})
		}
		if s.Addr != "" {
			f = append(f, [2]string{prefix + "addr", s.Addr})
		}
		if s.Port != 0 {
			f = append(f, [2]string{prefix + "port", strconv.Itoa(int(s.Port))})
		}
	}
	// The container the drop concerns, for a plain ZONEWALL_CONTAINER=
	// search: the source when it is one (it opened the connection), else
	// the destination.
	if subject := d.Src; subject.Kind == "container" || d.Dst.Kind == "container" {
		if subject.Kind != "container" {
			subject = d.Dst
		}
		zone := subject.Zone
		if zone == "" {
			zone = "unzoned"
		}
		f = append(f, [2]string{"container", subject.Container}, [2]string{"zone", zone})
	}
	side("src_", d.Src)
	side("dst_", d.Dst)
	if suppressed > 0 {
		f = append(f, [2]string{"suppressed", strconv.FormatUint(suppressed, 10)})
	}
	return f
}

// dropMessage is the record's one-line text.
func dropMessage(d control.Drop, suppressed uint64) string {
	verb := "dropped"
	if isAuditDrop(d) {
		verb = "would drop (audit mode)"
	}
	msg := fmt.Sprintf("%s %s: %s", verb, DropFlow(d), d.ReasonOf())
	var who []string
	for _, s := range []control.DropSide{d.Src, d.Dst} {
		if s.Container != "" {
			who = append(who, s.Container)
		}
	}
	if len(who) > 0 {
		msg += " (" + strings.Join(who, " -> ") + ")"
	}
	if suppressed > 0 {
		msg += fmt.Sprintf("; %d earlier drops not recorded (rate limit)", suppressed)
	}
	return msg
}

// JournalDrops sends drop records to the systemd journal over its native
// protocol, with one field per attribute, so that
// `journalctl -t zonewall ZONEWALL_DST_ZONE=db` finds them.
type JournalDrops struct{}

// JournalAvailable reports whether the journal's socket is there.
func JournalAvailable() bool { return journal.Enabled() }

// RecordDrop implements DropRecorder.
func (JournalDrops) RecordDrop(d control.Drop, suppressed uint64) {
	vars := map[string]string{"SYSLOG_IDENTIFIER": "zonewall", "ZONEWALL_EVENT": "drop"}
	pri := journal.PriNotice
	if isAuditDrop(d) {
		vars["ZONEWALL_EVENT"] = "audit-drop"
		pri = journal.PriInfo
	}
	for _, kv := range dropFields(d, suppressed) {
		vars["ZONEWALL_"+strings.ToUpper(kv[0])] = kv[1]
	}
	// A lost record is no reason to fail: the drop itself is counted in
	// the metrics and kept for `zonewall drops`.
	_ = journal.Send(dropMessage(d, suppressed), pri, vars)
}

// LogDrops writes drop records through a logger (outside systemd, or when
// the journal's socket is missing): one line per record, fields as attributes.
type LogDrops struct{ Log *slog.Logger }

// RecordDrop implements DropRecorder.
func (l LogDrops) RecordDrop(d control.Drop, suppressed uint64) {
	fields := dropFields(d, suppressed)
	attrs := make([]any, 0, 2*len(fields))
	for _, kv := range fields {
		attrs = append(attrs, kv[0], kv[1])
	}
	msg := "drop"
	if isAuditDrop(d) {
		msg = "would-be drop (audit mode)"
	}
	l.Log.Info(msg, attrs...)
}
