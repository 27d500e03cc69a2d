package docker

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
)

// Sandboxed implements portFinder (see connect.go for why).
func (p *netlinkPorts) Sandboxed(bridge string, claimed map[string]bool) ([]sandboxPort, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	links, err := listLinks(p.host.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list host links: %w", err)
	}
	br := -1
	for _, l := range links {
		if l.Attrs().Name == bridge {
			br = l.Attrs().Index
		}
	}
	var out []sandboxPort
	for _, l := range links {
		a := l.Attrs()
		if br < 0 || l.Type() != "veth" || a.MasterIndex != br || claimed[a.Name] || a.NetNsID < 0 || a.ParentIndex == 0 {
			continue
		}
		h, err := p.sandboxHandle(a.NetNsID)
		if err != nil || h == nil {
			continue
		}
		peer, err := h.LinkByIndex(a.ParentIndex)
		if err != nil || peer.Attrs().Flags&net.FlagUp == 0 || len(peer.Attrs().HardwareAddr) != 6 {
			continue // not configured yet: Docker brings it up last
		}
		sp, ok := peerAddrs(h, peer)
		if !ok {
			continue
		}
		sp.Veth, sp.MAC, sp.NetNsID = a.Name, strings.ToLower(peer.Attrs().HardwareAddr.String()), a.NetNsID
		out = append(out, sp)
	}
	return out, nil
}

// peerAddrs reads the peer's addresses: exactly one IPv4 or none, at most
// one global IPv6 (link-local ones are every interface's), and at least
// one address; anything else is not Docker's plain configuration.
func peerAddrs(h *netlink.Handle, peer netlink.Link) (sandboxPort, bool) {
	var sp sandboxPort
	addrs, err := h.AddrList(peer, netlink.FAMILY_ALL)
	if err != nil {
		return sp, false
	}
	n4, n6 := 0, 0
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		switch {
		case ip.Is4():
			sp.IPv4, n4 = ip, n4+1
		case ip.IsLinkLocalUnicast():
		default:
			sp.IPv6, n6 = ip, n6+1
		}
	}
	return sp, n4 <= 1 && n6 <= 1 && n4+n6 > 0
}

// OwnedBy implements portFinder: a process whose network namespace is the
// port's sandbox sits in a cgroup named after container id. At the moment
// Docker configures the sandbox (its prestart hook) that is the container's
// init, which the runtime has already put in the container's cgroup.
func (p *netlinkPorts) OwnedBy(sp sandboxPort, id string) bool {
	p.mu.Lock()
	path := p.pathOf[sp.NetNsID]
	p.mu.Unlock()
	if path == "" || len(id) < 12 {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return false
	}
	return netnsHasCgroupProcess("/proc", st.Ino, id)
}

// netnsHasCgroupProcess reports whether a process under procDir has the
// network namespace with inode ino and a cgroup path naming id.
func netnsHasCgroupProcess(procDir string, ino uint64, id string) bool {
	want := fmt.Sprintf("net:[%d]", ino)
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		name := e.Name()
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		if ns, err := os.Readlink(procDir + "/" + name + "/ns/net"); err != nil || ns != want {
			continue
		}
		cg, err := os.ReadFile(procDir + "/" + name + "/cgroup")
		if err == nil && bytes.Contains(cg, []byte(id)) {
			return true
		}
	}
	return false
}
