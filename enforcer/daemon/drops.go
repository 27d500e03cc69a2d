package daemon

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// RecordDrop attributes a dropped packet to containers and zones through the
// inventory of this instant (addresses are reused later) and keeps it.
func (d *Daemon) RecordDrop(p DropPacket) {
	d.mu.Lock()
	v, rs := d.view, d.lastRuleset
	d.mu.Unlock()
	var decided string
	if o, ok := rs.(DropOriginer); ok {
		decided = o.DropOrigin(p.Prefix)
	}
	dr := control.Drop{
		Time:     p.Time,
		Prefix:   p.Prefix,
		Decided:  decided,
		Proto:    protoName(p.Proto, p.Src.IsValid()),
		Src:      v.side(p.Src, p.SrcPort),
		Dst:      v.side(p.Dst, p.DstPort),
		InIface:  p.InIface,
		OutIface: p.OutIface,
	}
	dr.Direction = control.DropDirection(dr.Src, dr.Dst)
	if dr.Src.Kind == "world" && strings.HasPrefix(p.InIface, "veth") {
		// From a container port with an address no container has: forged
		// or not classified yet, not traffic from the world.
		dr.Direction = control.DirectionUnknown
	}
	if dr.Dst.Kind == "world" && d.cfg.Names != nil {
		dr.Dst.Name = d.cfg.Names.NameOf(p.Dst)
	}
	d.drops.add(dr)
	d.recordDropObservation(v, p)
	if d.cfg.DropRecords != nil {
		if ok, suppressed := d.recordLimit.allow(time.Now()); ok {
			d.cfg.DropRecords.RecordDrop(dr, suppressed)
		}
	}
	reason := decided
	if reason == "" {
		reason = "unattributed" // a prefix the last ruleset does not use (an older one's)
	}
	d.cfg.Metrics.LoggedDrop(v.zoneLabel(dr.Src, p.Src, p.InIface), v.zoneLabel(dr.Dst, p.Dst, ""), reason)
}

// zoneLabel names one side of a drop for metrics: the zone of a member,
// "unzoned" or "conflict" for other containers, "world" or "host", and
// "unknown" for a non-IP frame or a sender on a container port whose
// address is not in the inventory (not classified yet, or forging it).
func (v *view) zoneLabel(s control.DropSide, a netip.Addr, inIface string) string {
	if s.Kind == "container" {
		m := v.members[v.index().byAddr[a.Unmap()].ID]
		switch {
		case m.Zone != "":
			return m.Zone
		case m.Conflict():
			return "conflict"
		}
		return "unzoned"
	}
	if s.Kind == "world" && strings.HasPrefix(inIface, "veth") {
		return "unknown"
	}
	return s.Kind
}

// Drops returns the recent drops, oldest first.
func (d *Daemon) Drops() []control.Drop { return d.drops.recent() }

// FollowDrops delivers drops recorded from now on until ctx ends.
func (d *Daemon) FollowDrops(ctx context.Context) <-chan control.Drop { return d.drops.follow(ctx) }

func (v *view) side(a netip.Addr, port uint16) control.DropSide {
	if !a.IsValid() {
		// Not an IP packet (a bridge-family drop of ARP or another ethertype).
		return control.DropSide{Kind: "unknown"}
	}
	a = a.Unmap()
	s := control.DropSide{Addr: a.String(), Port: port, Kind: "world"}
	if v == nil {
		return s
	}
	if c := v.index().byAddr[a]; c != nil {
		m := v.members[c.ID]
		s.Kind, s.Container, s.ContainerID, s.Service, s.Zone = "container", c.Name, shortID(c.ID), composeService(c), m.Zone
		return s
	}
	if v.index().hostAddrs[a] {
		s.Kind = "host"
	}
	return s
}

func protoName(p uint8, isIP bool) string {
	if !isIP {
		return "non-ip"
	}
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// dropLog is a ring buffer of recent drops with live subscribers.
type dropLog struct {
	mu   sync.Mutex
	buf  []control.Drop
	next int
	full bool
	subs map[chan control.Drop]struct{}
}

func newDropLog(n int) *dropLog {
	return &dropLog{buf: make([]control.Drop, n), subs: map[chan control.Drop]struct{}{}}
}

func (l *dropLog) add(dr control.Drop) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf[l.next] = dr
	l.next = (l.next + 1) % len(l.buf)
	if l.next == 0 {
		l.full = true
	}
	for ch := range l.subs {
		select {
		case ch <- dr:
		default: // a slow reader loses drops rather than stalling the NFLOG reader
		}
	}
}

func (l *dropLog) recent() []control.Drop {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]control.Drop{}, l.buf[:l.next]...)
	}
	return append(append([]control.Drop{}, l.buf[l.next:]...), l.buf[:l.next]...)
}

func (l *dropLog) follow(ctx context.Context) <-chan control.Drop {
	ch := make(chan control.Drop, 256)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		l.mu.Lock()
		delete(l.subs, ch)
		close(ch)
		l.mu.Unlock()
	}()
	return ch
}
