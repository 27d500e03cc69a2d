package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DefaultNetNSDir is where Docker keeps its sandboxes' network namespaces.
const DefaultNetNSDir = "/var/run/docker/netns"

// portFinder finds the host-side veth (the bridge port) of an endpoint.
type portFinder interface {
	// Find maps each wanted container-side MAC to the host-side veth on
	// bridge that belongs to it; MACs not found yet are absent. claimed
	// holds the veths known endpoints own already.
	Find(bridge string, want []string, claimed map[string]bool) (map[string]portMatch, error)
	// Sandboxed lists the veths on bridge, none of claimed, whose peer is
	// up in a sandbox namespace with its addresses (one IPv4, at most one
	// global IPv6): endpoints as the kernel shows them (connect.go).
	Sandboxed(bridge string, claimed map[string]bool) ([]sandboxPort, error)
	// OwnedBy reports whether a process of container id lives in the
	// port's sandbox namespace.
	OwnedBy(p sandboxPort, id string) bool
	// Watch calls changed with a bridge's name whenever a veth is attached
	// to or removed from it, until ctx ends.
	Watch(ctx context.Context, changed func(bridge string)) error
	Close()
}

// portMatch is a veth found for an endpoint.
type portMatch struct {
	Veth     string
	Verified bool // its peer carries the endpoint's MAC (else: the only candidate)
}

// netlinkPorts finds bridge ports through netlink: a host-side veth carries
// its peer's ifindex (IFLA_LINK) and the peer's namespace id (link netnsid);
// the namespace id is mapped to one of Docker's sandbox files, and the peer's
// MAC is read through a handle bound to that namespace.
type netlinkPorts struct {
	dir    string
	hostNS netns.NsHandle // where the bridges are; None: our own namespace
	host   *netlink.Handle

	mu      sync.Mutex
	sandbox map[int]*netlink.Handle // netnsid -> handle in that namespace
	pathOf  map[int]string          // netnsid -> its sandbox file
	opened  map[string]bool         // sandbox files whose netnsid is in sandbox
	peerMAC map[int]string          // host veth ifindex -> confirmed peer MAC
}

func newNetlinkPorts(dir string) (*netlinkPorts, error) { return newNetlinkPortsAt(netns.None(), dir) }

// newNetlinkPortsAt looks for bridges in the namespace host (tests use a
// throwaway one) and for sandboxes in dir.
func newNetlinkPortsAt(host netns.NsHandle, dir string) (*netlinkPorts, error) {
	h, err := netlink.NewHandleAt(host)
	if err != nil {
		return nil, fmt.Errorf("netlink handle: %w", err)
	}
	return &netlinkPorts{dir: dir, hostNS: host, host: h, sandbox: map[int]*netlink.Handle{},
		pathOf: map[int]string{}, opened: map[string]bool{}, peerMAC: map[int]string{}}, nil
}

func (p *netlinkPorts) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, h := range p.sandbox {
		h.Close()
		p.forgetSandbox(id)
	}
	p.host.Close()
}

// Find implements portFinder.
//
// Docker 20.10 announces an endpoint ("network connect") while the veth's
// peer is still in the host namespace with a random MAC; the peer moves into
// the container's namespace and gets the endpoint's MAC only in the
// container's prestart hook, just before its process starts. So a match is
// either verified (the peer carries the MAC) or, to classify earlier,
// provisional: exactly one endpoint on the bridge is unresolved and exactly
// one veth on it is unclaimed, with its peer still in the host namespace.
// Any ambiguity (containers starting side by side) waits for verification.
func (p *netlinkPorts) Find(bridge string, want []string, claimed map[string]bool) (map[string]portMatch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	wanted := map[string]bool{}
	for _, m := range want {
		wanted[strings.ToLower(m)] = true
	}
	links, err := listLinks(p.host.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list host links: %w", err)
	}
	br := -1
	byIndex := map[int]netlink.Link{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
		if l.Attrs().Name == bridge {
			br = l.Attrs().Index
		}
	}
	p.prune(links)
	if br < 0 {
		return nil, nil // bridge not created yet, nothing attached
	}
	found := map[string]portMatch{}
	var unclaimed []netlink.Link // veths on the bridge no endpoint owns
	for _, l := range links {
		a := l.Attrs()
		if l.Type() != "veth" || a.MasterIndex != br {
			continue
		}
		mac, ok := p.peerMAC[a.Index]
		if !ok {
			mac, _ = p.readPeerMAC(a.NetNsID, a.ParentIndex, byIndex)
		}
		if mac != "" && wanted[mac] {
			// The peer's MAC no longer changes while the veth exists.
			if a.NetNsID >= 0 {
				p.peerMAC[a.Index] = mac
			}
			found[mac] = portMatch{Veth: a.Name, Verified: true}
			continue
		}
		if !claimed[a.Name] {
			unclaimed = append(unclaimed, l)
		}
	}
	var open []string
	for m := range wanted {
		if _, ok := found[m]; !ok {
			open = append(open, m)
		}
	}
	if len(open) == 1 && len(unclaimed) == 1 && unclaimed[0].Attrs().NetNsID < 0 {
		found[open[0]] = portMatch{Veth: unclaimed[0].Attrs().Name}
	}
	return found, nil
}

// prune forgets cached MACs of deleted veths and closes handles of
// namespaces no veth leads to any more (an open handle would keep a dead
// container's namespace alive).
func (p *netlinkPorts) prune(links []netlink.Link) {
	alive := map[int]bool{}
	nsids := map[int]bool{}
	for _, l := range links {
		if l.Type() == "veth" {
			alive[l.Attrs().Index] = true
			nsids[l.Attrs().NetNsID] = true
		}
	}
	for idx := range p.peerMAC {
		if !alive[idx] {
			delete(p.peerMAC, idx)
		}
	}
	for id, h := range p.sandbox {
		if !nsids[id] {
			h.Close()
			p.forgetSandbox(id)
		}
	}
}

func (p *netlinkPorts) forgetSandbox(id int) {
	delete(p.sandbox, id)
	delete(p.opened, p.pathOf[id])
	delete(p.pathOf, id)
}

// readPeerMAC reads the MAC of a veth's peer, in the host namespace
// (nsid < 0: not moved yet) or in the sandbox with that nsid.
func (p *netlinkPorts) readPeerMAC(nsid, peerIndex int, host map[int]netlink.Link) (string, error) {
	if peerIndex == 0 {
		return "", nil
	}
	if nsid < 0 {
		if peer, ok := host[peerIndex]; ok {
			return strings.ToLower(peer.Attrs().HardwareAddr.String()), nil
		}
		return "", nil
	}
	h, err := p.sandboxHandle(nsid)
	if err != nil || h == nil {
		return "", err
	}
	peer, err := h.LinkByIndex(peerIndex)
	if err != nil {
		return "", fmt.Errorf("peer %d in netns %d: %w", peerIndex, nsid, err)
	}
	return strings.ToLower(peer.Attrs().HardwareAddr.String()), nil
}

// sandboxHandle returns a handle in the namespace with that netnsid,
// opening Docker's sandbox files not opened yet when the id is new (only
// those: with many containers, reopening every sandbox would delay a new
// container's classification).
func (p *netlinkPorts) sandboxHandle(nsid int) (*netlink.Handle, error) {
	if h, ok := p.sandbox[nsid]; ok {
		return h, nil
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p.dir, err)
	}
	for _, e := range entries {
		path := filepath.Join(p.dir, e.Name())
		if p.opened[path] {
			continue
		}
		h, id, err := p.openSandbox(path)
		if err != nil || h == nil {
			continue // sandbox being removed, or no veth crossed into it yet
		}
		if old, ok := p.sandbox[id]; ok {
			old.Close() // a stale handle whose id the kernel has reused
			p.forgetSandbox(id)
		}
		p.sandbox[id], p.pathOf[id], p.opened[path] = h, path, true
	}
	return p.sandbox[nsid], nil
}

// prefetch opens the sandbox a veth's peer lives in as soon as the veth
// shows up. Docker 28 and later create the veth with its peer inside the
// container's namespace well before the "network connect" event (which
// comes when the peer already carries the endpoint's MAC), so that the
// lookup at the event is one link read.
func (p *netlinkPorts) prefetch(nsid int) {
	if nsid < 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.sandboxHandle(nsid)
}

// openSandbox opens a netlink handle in the namespace at path and returns it
// with the namespace's id as the host namespace sees it.
func (p *netlinkPorts) openSandbox(path string) (*netlink.Handle, int, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, -1, fmt.Errorf("open %s: %w", path, err)
	}
	defer ns.Close()
	id, err := p.host.GetNetNsIdByFd(int(ns))
	if err != nil || id < 0 {
		return nil, -1, err
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, -1, fmt.Errorf("netlink handle in %s: %w", path, err)
	}
	return h, id, nil
}

// Watch implements portFinder.
func (p *netlinkPorts) Watch(ctx context.Context, changed func(bridge string)) error {
	updates := make(chan netlink.LinkUpdate, 256)
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(updates, ctx.Done(), netlink.LinkSubscribeOptions{
		Namespace: &p.hostNS,
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
		ReceiveBufferSize: 1 << 20,
	})
	if err != nil {
		return fmt.Errorf("subscribe to link updates: %w", err)
	}
	names := map[int]string{} // bridge ifindex -> name
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return fmt.Errorf("link updates: %w", err)
		case u, ok := <-updates:
			if !ok {
				return errors.New("link updates: subscription closed")
			}
			a := u.Link.Attrs()
			if u.Link.Type() != "veth" || a.MasterIndex == 0 {
				continue
			}
			if u.Header.Type == unix.RTM_DELLINK {
				p.forget(a.Index)
			} else {
				p.prefetch(a.NetNsID)
			}
			name, ok := names[a.MasterIndex]
			if !ok {
				br, err := p.host.LinkByIndex(a.MasterIndex)
				if err != nil {
					continue
				}
				name = br.Attrs().Name
				names[a.MasterIndex] = name
			}
			changed(name)
		}
	}
}

func (p *netlinkPorts) forget(index int) {
	p.mu.Lock()
	delete(p.peerMAC, index)
	p.mu.Unlock()
}

// listLinks retries a link dump the kernel interrupted (the link table
// changed under it), as containernetworking's netlinksafe does.
func listLinks(list func() ([]netlink.Link, error)) ([]netlink.Link, error) {
	var err error
	for range 5 {
		var links []netlink.Link
		links, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return links, err
		}
	}
	return nil, err
}
