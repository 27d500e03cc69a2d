package control

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Directions of a drop, from the kinds of its two ends.
const (
	DirectionIngress  = "ingress"  // world -> container
	DirectionEgress   = "egress"   // container -> world
	DirectionInternal = "internal" // container -> container
	DirectionToHost   = "to-host"  // container -> this host
	DirectionFromHost = "from-host"
	DirectionUnknown  = "unknown" // a non-IP frame, or an end zonewall cannot place
)

// Directions lists every direction, for flag validation and completion.
var Directions = []string{DirectionIngress, DirectionEgress, DirectionInternal, DirectionToHost, DirectionFromHost, DirectionUnknown}

// DropDirection names the direction of a packet from src to dst.
func DropDirection(src, dst DropSide) string {
	switch {
	case src.Kind == "container" && dst.Kind == "container":
		return DirectionInternal
	case src.Kind == "world" && dst.Kind == "container":
		return DirectionIngress
	case src.Kind == "container" && dst.Kind == "world":
		return DirectionEgress
	case src.Kind == "container" && dst.Kind == "host":
		return DirectionToHost
	case src.Kind == "host" && dst.Kind == "container":
		return DirectionFromHost
	}
	return DirectionUnknown
}

// DirectionOf is d.Direction, or the direction computed from its ends for
// drops recorded without one.
func (d Drop) DirectionOf() string {
	if d.Direction != "" {
		return d.Direction
	}
	return DropDirection(d.Src, d.Dst)
}

// ReasonOf is what decided the drop: the default's name, or the raw log
// prefix when the ruleset that logged it is gone.
func (d Drop) ReasonOf() string {
	if d.Decided != "" {
		return d.Decided
	}
	return strings.TrimSpace(d.Prefix)
}

// DropQuery selects drops. The daemon applies it to its recent drops and,
// with Follow, to every new one, so only matching drops cross the socket.
type DropQuery struct {
	Follow bool
	// Since keeps drops at or after this time; zero keeps all.
	Since time.Time
	// Last keeps only the newest Last matching drops of the backlog (new
	// drops of Follow are all delivered); 0 keeps all.
	Last int
	// Zone, Container, Direction and Reason must all match when set. Zone
	// and Container match either end; Container is a name or an ID prefix.
	Zone      string
	Container string
	Direction string
	Reason    string
}

// Match reports whether d passes every filter of q (Last aside).
func (q DropQuery) Match(d Drop) bool {
	if !q.Since.IsZero() && d.Time.Before(q.Since) {
		return false
	}
	if q.Zone != "" && !sideInZone(d.Src, q.Zone) && !sideInZone(d.Dst, q.Zone) {
		return false
	}
	if q.Container != "" && !sideIsContainer(d.Src, q.Container) && !sideIsContainer(d.Dst, q.Container) {
		return false
	}
	if q.Direction != "" && d.DirectionOf() != q.Direction {
		return false
	}
	if q.Reason != "" && d.ReasonOf() != q.Reason {
		return false
	}
	return true
}

// sideInZone matches a zone name, or "unzoned", "world", "host" for ends
// that are in no zone.
func sideInZone(s DropSide, zone string) bool {
	if s.Kind == "container" {
		if s.Zone == "" {
			return zone == "unzoned"
		}
		return s.Zone == zone
	}
	return s.Kind == zone
}

func sideIsContainer(s DropSide, c string) bool {
	if s.Kind != "container" {
		return false
	}
	return s.Container == c || strings.TrimPrefix(s.Container, "/") == c ||
		(len(c) >= 3 && strings.HasPrefix(s.ContainerID, c)) ||
		(len(s.ContainerID) >= 3 && len(c) > len(s.ContainerID) && strings.HasPrefix(c, s.ContainerID))
}

// Select applies q to a backlog (oldest first): the matching drops, of
// which only the newest q.Last when it is set.
func (q DropQuery) Select(backlog []Drop) []Drop {
	var out []Drop
	for _, d := range backlog {
		if q.Match(d) {
			out = append(out, d)
		}
	}
	if q.Last > 0 && len(out) > q.Last {
		out = out[len(out)-q.Last:]
	}
	return out
}

// Validate rejects values no drop can match, naming the valid ones.
func (q DropQuery) Validate() error {
	if q.Last < 0 {
		return fmt.Errorf("last: %d: want a positive number", q.Last)
	}
	if q.Direction != "" && !slices.Contains(Directions, q.Direction) {
		return fmt.Errorf("direction %q: want one of %s", q.Direction, strings.Join(Directions, ", "))
	}
	return nil
}

// values encodes q as URL query parameters.
func (q DropQuery) values() url.Values {
	v := url.Values{}
	if q.Follow {
		v.Set("follow", "1")
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if q.Last > 0 {
		v.Set("last", strconv.Itoa(q.Last))
	}
	for k, s := range map[string]string{"zone": q.Zone, "container": q.Container, "direction": q.Direction, "reason": q.Reason} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// parseDropQuery decodes what values encoded.
func parseDropQuery(v url.Values) (DropQuery, error) {
	q := DropQuery{
		Follow:    v.Get("follow") == "1",
		Zone:      v.Get("zone"),
		Container: v.Get("container"),
		Direction: v.Get("direction"),
		Reason:    v.Get("reason"),
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, fmt.Errorf("since %q: want an RFC 3339 time", s)
		}
		q.Since = t
	}
	if s := v.Get("last"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return q, fmt.Errorf("last %q: want a number", s)
		}
		q.Last = n
	}
	return q, q.Validate()
}
