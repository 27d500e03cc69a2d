package zones

import "strings"

// String renders an endpoint as zone files write it: "world", "host", "web"
// or "[api, worker]".
func (e Endpoint) String() string {
	switch e.Kind {
	case KindWorld:
		return "world"
	case KindHost:
		return "host"
	}
	if len(e.Zones) == 1 {
		return e.Zones[0]
	}
	return "[" + strings.Join(e.Zones, ", ") + "]"
}

// HasZone reports whether a zone endpoint names zone.
func (e Endpoint) HasZone(zone string) bool {
	if e.Kind != KindZone || zone == "" {
		return false
	}
	for _, z := range e.Zones {
		if z == zone {
			return true
		}
	}
	return false
}
