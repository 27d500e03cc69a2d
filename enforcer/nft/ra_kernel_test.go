package nft

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// TestKernelRogueRouterAdvertisement: a container announcing itself as an
// IPv6 router must not become the other containers' default route (the
// IPv6 analogue of ARP spoofing; link-local ICMPv6 otherwise passes the
// source check).
func TestKernelRogueRouterAdvertisement(t *testing.T) {
	s := newShop(t)
	// api accepts router advertisements (the kernel default for a host).
	s.sysctl(s.api.ns, "net.ipv6.conf.eth0.accept_ra", "2")
	// The RA must come from a link-local address, which needs DAD to finish.
	linkLocal := ""
	for i := 0; i < 40 && linkLocal == ""; i++ {
		out := run(t, "ip", "-n", s.web.ns, "-6", "addr", "show", "dev", "eth0", "scope", "link")
		if f := strings.Fields(out); !strings.Contains(out, "tentative") && strings.Contains(out, "inet6 ") {
			for j, w := range f {
				if w == "inet6" {
					linkLocal = strings.Split(f[j+1], "/")[0]
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if linkLocal == "" {
		t.Fatal("web has no usable link-local address")
	}
	sendRA := func() {
		inNS(t, s.web.ns, func() {
			c, err := icmp.ListenPacket("ip6:ipv6-icmp", linkLocal+"%eth0")
			if err != nil {
				t.Errorf("raw ICMPv6 socket: %v", err)
				return
			}
			defer c.Close()
			pc := c.IPv6PacketConn()
			_ = pc.SetHopLimit(255)
			_ = pc.SetMulticastHopLimit(255)
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				t.Error(err)
				return
			}
			// Hop limit 64, no flags, router lifetime 1800 s, no options.
			body := &icmp.RawBody{Data: []byte{64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}}
			msg, _ := (&icmp.Message{Type: ipv6.ICMPTypeRouterAdvertisement, Body: body}).Marshal(nil)
			cm := &ipv6.ControlMessage{HopLimit: 255, IfIndex: ifi.Index}
			if _, err := pc.WriteTo(msg, cm, &net.IPAddr{IP: net.ParseIP("ff02::1"), Zone: "eth0"}); err != nil {
				t.Errorf("send RA: %v", err)
			}
		})
	}
	defaultRoutes := func() string {
		return run(t, "ip", "-n", s.api.ns, "-6", "route", "show", "default", "proto", "ra")
	}
	// Without our tables the RA is accepted: the test can tell.
	sendRA()
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(defaultRoutes(), "default") {
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
