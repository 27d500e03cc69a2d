package nft

import (
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// waitLinkLocal returns the container's link-local address once DAD is done.
func waitLinkLocal(t *testing.T, ns string) string {
	for i := 0; i < 40; i++ {
		out := run(t, "ip", "-n", ns, "-6", "addr", "show", "dev", "eth0", "scope", "link")
		if f := strings.Fields(out); !strings.Contains(out, "tentative") && strings.Contains(out, "inet6 ") {
			for j, w := range f {
				if w == "inet6" {
					return strings.Split(f[j+1], "/")[0]
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s has no usable link-local address", ns)
	return ""
}

// sendICMPv6 sends one ICMPv6 message from ns (source src) to ff02::1 on eth0.
func sendICMPv6(t *testing.T, ns, src string, typ ipv6.ICMPType, body []byte) {
	inNS(t, ns, func() {
		c, err := icmp.ListenPacket("ip6:ipv6-icmp", src+"%eth0")
		if err != nil {
			t.Errorf("raw ICMPv6 socket: %v", err)
			return
		}
		defer c.Close()
		pc := c.IPv6PacketConn()
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			t.Error(err)
			return
		}
		msg, _ := (&icmp.Message{Type: typ, Body: &icmp.RawBody{Data: body}}).Marshal(nil)
		cm := &ipv6.ControlMessage{HopLimit: 255, IfIndex: ifi.Index}
		if _, err := pc.WriteTo(msg, cm, &net.IPAddr{IP: net.ParseIP("ff02::1"), Zone: "eth0"}); err != nil {
			t.Errorf("send ICMPv6 %v: %v", typ, err)
		}
	})
}

func macOf(t testing.TB, ns string) net.HardwareAddr {
	f := strings.Fields(run(t, "ip", "-n", ns, "link", "show", "eth0"))
	for i, w := range f {
		if w == "link/ether" {
			mac, err := net.ParseMAC(f[i+1])
			if err != nil {
				t.Fatal(err)
			}
			return mac
		}
	}
	t.Fatalf("no MAC for eth0 in %s", ns)
	return nil
}

// TestKernelNeighbourAdvertisementSpoof: web advertises api's IPv6 address
// with its own MAC (unsolicited, override); db's neighbour entry for api
// must keep api's MAC. Without our tables it does not: the test can tell.
func TestKernelNeighbourAdvertisementSpoof(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	src := waitLinkLocal(t, s.web.ns)
	webMAC, apiMAC := macOf(t, s.web.ns), macOf(t, s.api.ns)
	na := append([]byte{0x20, 0, 0, 0}, s.api.ip6.AsSlice()...) // O flag, target = api
	na = append(na, 2, 1)                                       // target link-layer address option
	na = append(na, webMAC...)
	entry := func() string {
		return run(t, "ip", "-n", s.db.ns, "-6", "neigh", "show", s.api.ip6.String(), "dev", "eth0")
	}
	phase := func() string {
		run(t, "ip", "-n", s.db.ns, "-6", "neigh", "replace", s.api.ip6.String(), "lladdr", apiMAC.String(), "dev", "eth0", "nud", "stale")
		sendICMPv6(t, s.web.ns, src, ipv6.ICMPTypeNeighborAdvertisement, na)
		time.Sleep(200 * time.Millisecond)
		return entry()
	}
	if e, ok := labShows(5, phase, webMAC.String()); !ok {
		t.Fatalf("lab: the forged NA did not poison db even without rules: %s", e)
	}
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), opts)
	mustApply(t, s.a, rs)
	if e := phase(); !strings.Contains(e, apiMAC.String()) {
		t.Errorf("forged neighbour advertisement poisoned db: %s", e)
	}
	// IPv6 between containers still works (genuine ND passes).
	run(t, "ip", "-n", s.db.ns, "-6", "neigh", "flush", "all")
	s.run(t, both(s.api, "", s.db, "tcp", 5432, true, "api->db after ND checks"))
}

// TestKernelRogueRouterAdvertisement: a container announcing itself as an
// IPv6 router must not become the other containers' default route (the
// IPv6 analogue of ARP spoofing; link-local ICMPv6 otherwise passes the
// source check).
func TestKernelRogueRouterAdvertisement(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	// api accepts router advertisements (the kernel default for a host).
	s.sysctl(s.api.ns, "net.ipv6.conf.eth0.accept_ra", "2")
	src := waitLinkLocal(t, s.web.ns)
	// Hop limit 64, no flags, router lifetime 1800 s, no options.
	sendRA := func() {
		sendICMPv6(t, s.web.ns, src, ipv6.ICMPTypeRouterAdvertisement, []byte{64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0})
	}
	defaultRoutes := func() string {
		return run(t, "ip", "-n", s.api.ns, "-6", "route", "show", "default", "proto", "ra")
	}
	// Without our tables the RA is accepted: the test can tell.
	learn := func() string {
		sendRA()
		time.Sleep(300 * time.Millisecond)
		return defaultRoutes()
	}
	if _, ok := labShows(5, learn, "default"); !ok {
		t.Fatalf("lab: api did not learn a route from the RA even without rules")
	}
	run(t, "ip", "-n", s.api.ns, "-6", "route", "flush", "proto", "ra")
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), opts)
	mustApply(t, s.a, rs)
	sendRA()
	time.Sleep(300 * time.Millisecond)
	if r := defaultRoutes(); strings.Contains(r, "default") {
		t.Errorf("a container's router advertisement reached api: %s", r)
	}
}

// TestKernelARPSpoof: web sends gratuitous ARP replies claiming api's IPv4
// address; db's ARP entry for api must keep api's MAC.
func TestKernelARPSpoof(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	webMAC, apiMAC := macOf(t, s.web.ns), macOf(t, s.api.ns)
	entry := func() string {
		return run(t, "ip", "-n", s.db.ns, "neigh", "show", s.api.ip4.String(), "dev", "eth0")
	}
	phase := func() string {
		run(t, "ip", "-n", s.db.ns, "neigh", "replace", s.api.ip4.String(), "lladdr", apiMAC.String(), "dev", "eth0", "nud", "stale")
		sendGratuitousARP(t, s.web.ns, webMAC, s.api.ip4)
		time.Sleep(200 * time.Millisecond)
		return entry()
	}
	if e, ok := labShows(5, phase, webMAC.String()); !ok {
		t.Fatalf("lab: the forged ARP did not poison db even without rules: %s", e)
	}
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), opts)
	mustApply(t, s.a, rs)
	if e := phase(); !strings.Contains(e, apiMAC.String()) {
		t.Errorf("forged ARP poisoned db: %s", e)
	}
}

// sendGratuitousARP broadcasts a gratuitous ARP request (sender = target =
// ip, sender MAC = mac) on eth0 of ns through a packet socket.
func sendGratuitousARP(t *testing.T, ns string, mac net.HardwareAddr, ip netip.Addr) {
	inNS(t, ns, func() {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			t.Error(err)
			return
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			t.Errorf("packet socket: %v", err)
			return
		}
		defer unix.Close(fd)
		bcast := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		frame := append(append(append([]byte{}, bcast...), mac...), 0x08, 0x06)
		frame = append(frame, 0, 1, 0x08, 0x00, 6, 4, 0, 1) // Ethernet, IPv4, request
		frame = append(append(frame, mac...), ip.AsSlice()...)
		frame = append(append(frame, 0, 0, 0, 0, 0, 0), ip.AsSlice()...)
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6}
		copy(sa.Addr[:], bcast)
		for i := 0; i < 2; i++ {
			if err := unix.Sendto(fd, frame, 0, sa); err != nil {
				t.Errorf("send ARP: %v", err)
			}
		}
	})
}

// labShows repeats an attack without our tables until its effect shows
// (want in the output), up to attempts times: it proves the lab can tell,
// and one attempt can be too slow on a loaded machine. It returns the last
// output and whether the effect showed.
func labShows(attempts int, attack func() string, want string) (string, bool) {
	var out string
	for i := 0; i < attempts; i++ {
		if out = attack(); strings.Contains(out, want) {
			return out, true
		}
	}
	return out, false
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// TestKernelMACSpoof: web sends a frame with api's MAC as source; the
// bridge must not learn api's MAC on web's port (which would hand web the
// frames meant for api). Without our tables it does: the test can tell.
func TestKernelMACSpoof(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	apiMAC := macOf(t, s.api.ns)
	onWebPort := func() bool {
		out := run(t, "bridge", "-n", s.router, "fdb", "show", "dev", s.web.veth)
		return strings.Contains(out, apiMAC.String())
	}
	learned := false
	for i := 0; i < 20 && !learned; i++ {
		sendGratuitousARP(t, s.web.ns, apiMAC, s.web.ip4)
		time.Sleep(50 * time.Millisecond)
		learned = onWebPort()
	}
	if !learned {
		t.Fatalf("lab: the bridge did not learn the forged MAC even without rules")
	}
	// The entry may already have moved back to api's port (api answered
	// or announced itself): then there is nothing to delete.
	if out, err := exec.Command("bridge", "-n", s.router, "fdb", "del", apiMAC.String(), "dev", s.web.veth, "master").CombinedOutput(); err != nil && onWebPort() {
		t.Fatalf("bridge fdb del: %v\n%s", err, out)
	}
	rs, _ := enforcer.Compile(labPolicy(settingsWith(nil)), s.inventory(s.tiers), opts)
	mustApply(t, s.a, rs)
	for i := 0; i < 5; i++ {
		sendGratuitousARP(t, s.web.ns, apiMAC, s.web.ip4)
	}
	time.Sleep(200 * time.Millisecond)
	if onWebPort() {
		t.Errorf("the bridge learned api's MAC on web's port")
	}
	s.run(t, both(s.web, "", s.api, "tcp", 8080, true, "web still reaches api with its own MAC"))
}
