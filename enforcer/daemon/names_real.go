package daemon

import (
	"net/netip"
	"sync"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/dnsproxy"
	"github.com/zonewall/zonewall/enforcer/metrics"
	"github.com/zonewall/zonewall/enforcer/nft"
	"github.com/zonewall/zonewall/zones"
)

// DNSNames is Names on the real forwarder and the kernel's DNS table. The
// table exists only while the policy has domain flows: without them
// containers' DNS goes where it was sent, untouched.
type DNSNames struct {
	Proxy *dnsproxy.Proxy
	Table *nft.DNSTable

	mu       sync.Mutex
	ensured  bool
	restored bool
}

// Enforce implements Names.
func (n *DNSNames) Enforce(p *zones.Policy, zoneIDs map[string]uint8) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !p.HasDomainFlows() {
		n.Proxy.SetPolicy(p)
		if n.ensured {
			n.ensured = false
			return n.Table.Delete()
		}
		return nil
	}
	// The zone numbering first: elements of renumbered zones must be gone
	// before the forwarder answers with the new policy.
	if err := n.Table.SetZones(zoneIDs); err != nil {
		return err
	}
	n.Proxy.SetPolicy(p)
	if !n.ensured {
		if err := n.Table.Ensure(); err != nil {
			return err
		}
		n.ensured = true
	}
	if !n.restored {
		n.restored = true
		if live, err := n.Table.Live(); err == nil {
			now := time.Now()
			for _, e := range live {
				n.Proxy.Restore(e.Zone, e.Name, e.Addr, now.Add(e.Expires))
			}
		}
	}
	return nil
}

// Status implements Names.
func (n *DNSNames) Status() []control.NameStatus {
	var out []control.NameStatus
	for _, s := range n.Proxy.Names() {
		out = append(out, control.NameStatus{Zone: s.Zone, Name: s.Name, LiveAddrs: s.LiveAddrs, Expires: s.Expires})
	}
	return out
}

// Samples reports the forwarder's counters for metrics.
func (n *DNSNames) Samples() []metrics.NameSample {
	live := map[dnsproxy.Key]int{}
	for _, s := range n.Proxy.Names() {
		live[dnsproxy.Key{Zone: s.Zone, Name: s.Name}] = s.LiveAddrs
	}
	var out []metrics.NameSample
	for k, c := range n.Proxy.Stats() {
		s := metrics.NameSample{Zone: k.Zone, Name: k.Name, Lookups: map[string]uint64{}, AddrsAdded: c.AddrsAdded, CapHits: c.CapHits, LiveAddrs: live[k]}
		for o, v := range c.Outcomes {
			s.Lookups[string(o)] = v
		}
		out = append(out, s)
	}
	return out
}

// NameOf implements Names.
func (n *DNSNames) NameOf(addr netip.Addr) string { return n.Proxy.NameOf(addr) }
