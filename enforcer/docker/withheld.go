package docker

import (
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

// DefaultVethGrace is how long a new endpoint without a known veth is left
// out of snapshots.
//
// Why: Docker announces an endpoint ("network connect") before its veth's
// peer moves into the container (prestart hook). When containers start
// side by side the veth cannot be told apart until then, so the endpoint
// would be published twice: address first, veth later, and each version
// costs the daemon a kernel transaction. The first one buys nothing: the
// enforcer drops everything from a bridge port it does not know, and the
// container's process cannot run before its peer has moved, which is when
// the veth becomes known and the endpoint is published at once (a link
// notification triggers the lookup). The grace bounds the wait when the
// veth never shows (netlink trouble): the endpoint is then published
// without it, as before. Measured on Docker 20.10 with 8 parallel starts on
// 2 cores: connect to peer moved often exceeds 500 ms, so 5 s.
const DefaultVethGrace = 5 * time.Second

// awaitVethLocked records that container id's endpoint on nid was
// announced at now.
func (t *Tracker) awaitVethLocked(id string, tc *tracked, nid string, now time.Time) {
	if tc.vethWait == nil {
		tc.vethWait = map[string]time.Time{}
	}
	tc.vethWait[nid] = now
	if t.awaiting == nil {
		t.awaiting = map[string]*tracked{}
	}
	t.awaiting[id] = tc
}

// withheld reports whether a snapshot built at now leaves ep out.
func (tc *tracked) withheld(nid string, ep enforcer.Endpoint, now time.Time, grace time.Duration) bool {
	if ep.HostVeth != "" || ep.Bridge == "" || ep.MAC == "" {
		return false
	}
	since, ok := tc.vethWait[nid]
	return ok && now.Sub(since) < grace
}

// releaseExpiredLocked marks containers whose withheld endpoints' grace has
// ended (they must be published now) and returns whether any did, and when
// the next grace ends (zero if none is running).
func (t *Tracker) releaseExpiredLocked(now time.Time) (released bool, next time.Time) {
	for id, tc := range t.awaiting {
		if t.containers[id] != tc {
			delete(t.awaiting, id) // removed, or replaced by a full sync
			continue
		}
		for nid, since := range tc.vethWait {
			ep, ok := tc.eps[nid]
			if !ok || ep.HostVeth != "" {
				delete(tc.vethWait, nid) // gone or resolved: nothing withheld
				continue
			}
			end := since.Add(t.vethGrace)
			if !now.Before(end) {
				delete(tc.vethWait, nid)
				tc.dirty, released = true, true
				continue
			}
			if next.IsZero() || end.Before(next) {
				next = end
			}
		}
		if len(tc.vethWait) == 0 {
			delete(t.awaiting, id)
		}
	}
	return released, next
}

// releaseExpired is releaseExpiredLocked under the lock.
func (t *Tracker) releaseExpired(now time.Time) (bool, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.releaseExpiredLocked(now)
}
