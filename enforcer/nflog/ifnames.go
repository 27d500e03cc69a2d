package nflog

import (
	"fmt"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// nameTTL bounds how long an index->name mapping is trusted: Docker creates
// and deletes veths all the time, and a name may be reused.
const nameTTL = 30 * time.Second

// ifaceNames resolves interface indexes to names in one network namespace,
// with a small cache so that a burst of drops costs one lookup.
type ifaceNames struct {
	h     *netlink.Handle
	mu    sync.Mutex
	cache map[uint32]cachedName
}

type cachedName struct {
	name string
	at   time.Time
}

func newIfaceNames(nsFD int) (*ifaceNames, error) {
	var (
		h   *netlink.Handle
		err error
	)
	if nsFD > 0 {
		h, err = netlink.NewHandleAt(netns.NsHandle(nsFD))
	} else {
		h, err = netlink.NewHandle()
	}
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink for interface names: %w", err)
	}
	return &ifaceNames{h: h, cache: map[uint32]cachedName{}}, nil
}

// name returns the interface's name, or "" for index 0 or an interface
// that no longer exists.
func (n *ifaceNames) name(index uint32) string {
	if index == 0 {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	now := time.Now()
	if c, ok := n.cache[index]; ok && now.Sub(c.at) < nameTTL {
		return c.name
	}
	name := ""
	if l, err := n.h.LinkByIndex(int(index)); err == nil {
		name = l.Attrs().Name
	}
	if len(n.cache) > 4096 {
		clear(n.cache)
	}
	n.cache[index] = cachedName{name: name, at: now}
	return name
}

func (n *ifaceNames) close() { n.h.Close() }
