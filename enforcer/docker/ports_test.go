package docker

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Kernel test in throwaway namespaces (no Docker): a "host" namespace with a
// bridge, and sandboxes the veth peers move into, as Docker does.
const (
	nsHost = "zwtest-e-ph"
	nsSb1  = "zwtest-e-ps1"
	nsSb2  = "zwtest-e-ps2"
	nsSb3  = "zwtest-e-ps3"
	macC   = "02:42:0a:e7:63:04"
	macA   = "02:42:0a:e7:63:02"
	macB   = "02:42:0a:e7:63:03"
)

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestNetlinkPortsInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	for _, ns := range []string{nsHost, nsSb1, nsSb2, nsSb3} {
		_ = exec.Command("ip", "netns", "del", ns).Run() // leftovers
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	}
	ipCmd(t, "-n", nsHost, "link", "add", "zwbr0", "type", "bridge")
	ipCmd(t, "-n", nsHost, "link", "add", "v1h", "type", "veth", "peer", "name", "v1c")
	ipCmd(t, "-n", nsHost, "link", "set", "v1h", "master", "zwbr0")

	host, err := netns.GetFromName(nsHost)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	p, err := newNetlinkPortsAt(host, "/run/netns")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notified := make(chan string, 16)
	go func() { _ = p.Watch(ctx, func(br string) { notified <- br }) }()
	time.Sleep(50 * time.Millisecond) // subscription in place

	// Docker's state at "network connect": the peer is still beside us.
	m, err := p.Find("zwbr0", []string{macA}, nil)
	if err != nil || m[macA] != (portMatch{Veth: "v1h"}) {
		t.Fatalf("sole candidate: got %+v, %v; want v1h provisional", m, err)
	}
	ipCmd(t, "-n", nsHost, "link", "add", "v2h", "type", "veth", "peer", "name", "v2c")
	ipCmd(t, "-n", nsHost, "link", "set", "v2h", "master", "zwbr0")
	select {
	case br := <-notified:
		if br != "zwbr0" {
			t.Fatalf("notified about %q", br)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no link notification for a veth attached to the bridge")
	}
	if m, _ := p.Find("zwbr0", []string{macA}, nil); len(m) != 0 {
		t.Fatalf("two candidates, yet matched %+v", m)
	}

	// The prestart hook: peers move into their sandboxes and get the MACs.
	ipCmd(t, "-n", nsHost, "link", "set", "v1c", "netns", nsSb1)
	ipCmd(t, "-n", nsSb1, "link", "set", "v1c", "address", macA, "up")
	ipCmd(t, "-n", nsHost, "link", "set", "v2c", "netns", nsSb2)
	ipCmd(t, "-n", nsSb2, "link", "set", "v2c", "address", macB, "up")
	m, err = p.Find("zwbr0", []string{macA, macB}, nil)
	if err != nil || m[macA] != (portMatch{Veth: "v1h", Verified: true}) || m[macB] != (portMatch{Veth: "v2h", Verified: true}) {
		t.Fatalf("verified: got %+v, %v", m, err)
	}
	// Claimed veths are skipped; a MAC on another bridge is not found.
	if m, _ := p.Find("zwbr0", []string{"02:42:0a:e7:63:99"}, map[string]bool{"v1h": true, "v2h": true}); len(m) != 0 {
		t.Fatalf("unknown MAC matched %+v", m)
	}
	// A deleted sandbox's handle is released on the next lookup.
	ipCmd(t, "-n", nsHost, "link", "del", "v2h")
	if _, err := p.Find("zwbr0", []string{macA}, nil); err != nil {
		t.Fatal(err)
	}
	if len(p.sandbox) != 1 {
		t.Fatalf("%d sandbox handles open, want 1", len(p.sandbox))
	}

	// Docker 28 and later create the veth with its peer inside the sandbox
	// (no provisional match is possible) and set the MAC before "network
	// connect": the watch opens the new sandbox as soon as the veth shows.
	for len(notified) > 0 {
		<-notified
	}
	ipCmd(t, "-n", nsHost, "link", "add", "v3h", "type", "veth", "peer", "name", "v3c", "netns", nsSb3)
	ipCmd(t, "-n", nsHost, "link", "set", "v3h", "master", "zwbr0")
	select {
	case <-notified:
	case <-time.After(2 * time.Second):
		t.Fatal("no link notification for a veth created with its peer in a sandbox")
	}
	v3h, err := p.host.LinkByName("v3h")
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	_, prefetched := p.sandbox[v3h.Attrs().NetNsID]
	p.mu.Unlock()
	if !prefetched {
		t.Fatalf("sandbox of v3h (netnsid %d) not opened on its link notification", v3h.Attrs().NetNsID)
	}
	ipCmd(t, "-n", nsSb3, "link", "set", "v3c", "address", macC, "up")
	m, err = p.Find("zwbr0", []string{macC}, map[string]bool{"v1h": true})
	if err != nil || m[macC] != (portMatch{Veth: "v3h", Verified: true}) {
		t.Fatalf("peer created in its sandbox: got %+v, %v; want v3h verified", m, err)
	}
}
