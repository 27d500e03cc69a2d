package nft

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/dnsproxy"
	"github.com/zonewall/zonewall/zones"
)

// BenchmarkDNSTableAllow: the kernel's share of one DNS answer (two
// addresses, A and AAAA, one port each: one transaction of 2 elements),
// with the sets already holding `held` elements.
func BenchmarkDNSTableAllow(b *testing.B) {
	for _, held := range []int{0, 10000} {
		b.Run(map[int]string{0: "empty", 10000: "10000-held"}[held], func(b *testing.B) {
			l := newLabPrefixed(b, "zwtest-n-")
			table, err := NewDNSTable("zwbench", 15353, WithNetNS(l.fd))
			if err != nil {
				b.Fatal(err)
			}
			defer table.Close()
			if err := table.Ensure(); err != nil {
				b.Fatal(err)
			}
			if err := table.SetZones(map[string]uint8{"worker": 1}); err != nil {
				b.Fatal(err)
			}
			ports := []zones.PortRange{{Proto: zones.ProtoTCP, From: 443, To: 443}}
			exp := time.Now().Add(time.Hour)
			for i := 0; i < held; i += 500 {
				var g []dnsproxy.Grant
				for j := i; j < i+500 && j < held; j++ {
					a := netip.AddrFrom4([4]byte{198, 18, byte(j >> 8), byte(j)})
					g = append(g, dnsproxy.Grant{Zone: "worker", Addr: a, Ports: ports, Name: "held.test.zw", Expires: exp})
				}
				if err := table.Allow(context.Background(), g); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				a4 := netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
				a6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})
				g := []dnsproxy.Grant{
					{Zone: "worker", Addr: a4, Ports: ports, Name: "api.test.zw", Expires: time.Now().Add(time.Minute)},
					{Zone: "worker", Addr: a6, Ports: ports, Name: "api.test.zw", Expires: time.Now().Add(time.Minute)},
				}
				if err := table.Allow(context.Background(), g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
