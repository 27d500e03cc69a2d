package nft

import (
	"net/netip"
	"testing"
)

// TestKernelPreroutingOrder: the bridge prerouting chain runs the
// own-address fast paths before the "not a container port" accept (which
// saves every container frame an iifname load and compare). Both accept
// disjoint frames, so the order must change no verdict: a port that is not
// a container's (not named veth*) still passes, an unknown veth* port is
// still dropped, and containers still reach what the zones allow and
// nothing more.
func TestKernelPreroutingOrder(t *testing.T) {
	t.Parallel()
	s := newShopPrefixed(t, "zwtest-pc-")
	outside := s.plugPort(t, "up"+randHex(6), "o", "10.88.0.50")   // e.g. an uplink enslaved to the bridge
	unknown := s.plugPort(t, "veth"+randHex(7), "u", "10.88.0.51") // a veth zonewall was never told about
	router := netip.MustParseAddr("10.88.0.1")                     // the bridge's own address (newShop)
	for _, ns := range []string{outside, unknown} {
		if !ping(t, ns, router) {
			t.Fatalf("lab: %s cannot ping %s without our tables", ns, router)
		}
	}

	s.apply(t, defaultSettingsApply)
	s.run(t, []check{
		{from: outside, proto: "icmp", to: router, want: true, desc: "a port that is not a container's passes"},
		{from: unknown, proto: "icmp", to: router, want: false, desc: "an unknown veth port is dropped"},
		{from: s.web.ns, proto: "tcp", to: s.api.ip4, port: 8080, want: true, desc: "fast path: web->api declared"},
		{from: s.web.ns, proto: "tcp", to: s.db.ip4, port: 5432, want: false, desc: "fast path marks the zone: web->db undeclared"},
	})
}

// plugPort adds a namespace (suffix ns) whose eth0 is plugged into the
// shop's bridge through a host port named port, with address addr/24.
func (s *shop) plugPort(t *testing.T, port, ns, addr string) string {
	l := s.lab
	name := l.prefix + "-" + ns
	l.addNS(name)
	run(t, "ip", "-n", l.router, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name)
	run(t, "ip", "-n", l.router, "link", "set", port, "master", "br0", "up")
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	run(t, "ip", "-n", name, "addr", "add", addr+"/24", "dev", "eth0")
	run(t, "ip", "-n", name, "link", "set", "eth0", "up")
	return name
}
