package docker

// search is what resolvePorts looks up on one bridge.
type search struct {
	want    []string        // MACs of endpoints without a verified veth
	claimed map[string]bool // veths verified endpoints own
}

// pendingBridges maps each bridge to its endpoints whose veth is unknown or
// only provisional; nil when nothing is pending.
func (t *Tracker) pendingBridges() map[string]*search {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out map[string]*search
	claimed := map[string]map[string]bool{}
	for _, tc := range t.containers {
		for nid, ep := range tc.eps {
			if ep.Bridge == "" || ep.MAC == "" {
				continue
			}
			if ep.HostVeth != "" && !tc.provisional[nid] {
				if claimed[ep.Bridge] == nil {
					claimed[ep.Bridge] = map[string]bool{}
				}
				claimed[ep.Bridge][ep.HostVeth] = true
				continue
			}
			if out == nil {
				out = map[string]*search{}
			}
			if out[ep.Bridge] == nil {
				out[ep.Bridge] = &search{}
			}
			out[ep.Bridge].want = append(out[ep.Bridge].want, ep.MAC)
		}
	}
	for br, s := range out {
		s.claimed = claimed[br]
	}
	return out
}

// resolvePorts looks up the veths of pending endpoints on bridge (every
// bridge when ""), and reports whether the inventory changed.
func (t *Tracker) resolvePorts(bridge string) bool {
	if t.ports == nil {
		return false
	}
	fromSandbox := t.resolveFromSandboxes(bridge)
	found := map[string]map[string]portMatch{}
	for br, s := range t.pendingBridges() {
		if bridge != "" && br != bridge {
			continue
		}
		m, err := t.ports.Find(br, s.want, s.claimed)
		if err != nil {
			t.log.Warn("find bridge ports", "bridge", br, "err", err)
			continue
		}
		if len(m) > 0 {
			found[br] = m
		}
	}
	if len(found) == 0 {
		return fromSandbox
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := fromSandbox
	for _, tc := range t.containers {
		for nid, ep := range tc.eps {
			m, ok := found[ep.Bridge][ep.MAC]
			if !ok || (ep.HostVeth != "" && !tc.provisional[nid]) {
				continue
			}
			if !m.Verified && ep.HostVeth != "" {
				continue // keep the provisional veth until verified
			}
			if ep.HostVeth != m.Veth {
				changed = true
				ep.HostVeth = m.Veth
				tc.eps[nid] = ep
				tc.dirty = true
			}
			if m.Verified {
				delete(tc.provisional, nid)
			} else {
				tc.provisional[nid] = true
			}
			t.log.Debug("endpoint classified", "container", tc.c.Name, "network", ep.NetworkName, "veth", m.Veth, "verified", m.Verified)
		}
	}
	return changed
}
