package docker

// pendingBridges maps each bridge to the MACs of its endpoints whose veth is
// not known yet; nil when nothing is pending.
func (t *Tracker) pendingBridges() map[string][]string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out map[string][]string
	for _, tc := range t.containers {
		for _, ep := range tc.eps {
			if ep.Bridge == "" || ep.HostVeth != "" || ep.MAC == "" {
				continue
			}
			if out == nil {
				out = map[string][]string{}
			}
			out[ep.Bridge] = append(out[ep.Bridge], ep.MAC)
		}
	}
	return out
}

// resolvePorts looks up the veths of pending endpoints on bridge (every
// bridge when ""), and reports whether any was found.
func (t *Tracker) resolvePorts(bridge string) bool {
	if t.ports == nil {
		return false
	}
	pending := t.pendingBridges()
	found := map[string]map[string]string{}
	for br, macs := range pending {
		if bridge != "" && br != bridge {
			continue
		}
		m, err := t.ports.Find(br, macs)
		if err != nil {
			t.log.Warn("find bridge ports", "bridge", br, "err", err)
			continue
		}
		if len(m) > 0 {
			found[br] = m
		}
	}
	if len(found) == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	changed := false
	for _, tc := range t.containers {
		for nid, ep := range tc.eps {
			if veth := found[ep.Bridge][ep.MAC]; veth != "" && ep.HostVeth == "" {
				ep.HostVeth = veth
				tc.eps[nid] = ep
				changed = true
				t.log.Debug("endpoint classified", "container", tc.c.Name, "network", ep.NetworkName, "veth", veth)
			}
		}
	}
	return changed
}
