package nft

import (
	"net/netip"
	"testing"
)

// TestKernelForgedMAC: web takes api's MAC, first with its own addresses,
// then with api's addresses too, and opens connections towards db, which
// accepts api only. Identity is the bridge port together with the MAC, so
// neither form reaches db (without our tables both do); the real api
// still reaches db while web keeps its disguise.
func TestKernelForgedMAC(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	s.apply(t, defaultSettingsApply)
	apiMAC := macOf(t, s.api.ns)
	run(t, "ip", "-n", s.web.ns, "link", "set", "eth0", "address", apiMAC.String())

	// Own addresses, api's MAC.
	for _, dst := range []netip.Addr{s.db.ip4, s.db.ip6} {
		probe(t, s.web.ns, "tcp", netip.AddrPortFrom(dst, 5432), netip.Addr{})
		probe(t, s.web.ns, "udp", netip.AddrPortFrom(dst, 9999), netip.Addr{})
	}
	for _, from := range []netip.Addr{s.web.ip4, s.web.ip6} {
		if n := s.srv["db"].saw(from); n != 0 {
			t.Errorf("db received %d connections/datagrams from web (%s) wearing api's MAC", n, from)
		}
	}

	// api's MAC and api's addresses.
	for from, n := range s.webPosesAsAPI(t) {
		if n != 0 {
			t.Errorf("db received %d connections/datagrams from web posing as api (%s, api's MAC)", n, from)
		}
	}
	// The real api, whose MAC and addresses web copied, is not locked out.
	if !probe(t, s.api.ns, "tcp", netip.AddrPortFrom(s.db.ip4, 5432), netip.Addr{}) {
		t.Errorf("the real api cannot reach db:5432")
	}
}
