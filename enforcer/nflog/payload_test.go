package nflog

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func ipv4Packet(proto uint8, fragOff uint16, l4 []byte) []byte {
	b := make([]byte, 20, 20+len(l4))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(b[6:], fragOff)
	b[8], b[9] = 64, proto
	copy(b[12:], []byte{10, 0, 0, 1})
	copy(b[16:], []byte{10, 0, 0, 2})
	return append(b, l4...)
}

func ipv6Packet(next uint8, rest []byte) []byte {
	b := make([]byte, 40, 40+len(rest))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(rest)))
	b[6], b[7] = next, 64
	src := netip.MustParseAddr("2001:db8::1").As16()
	dst := netip.MustParseAddr("2001:db8::2").As16()
	copy(b[8:], src[:])
	copy(b[24:], dst[:])
	return append(b, rest...)
}

func ports(src, dst uint16) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], src)
	binary.BigEndian.PutUint16(b[2:], dst)
	b[13] = 0x02 // SYN, for TCP
	return b
}

func TestParsePayload(t *testing.T) {
	v4a, v4b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	v6a, v6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	hopByHop := append([]byte{protoUDP, 0, 0, 0, 0, 0, 0, 0}, ports(5353, 53)[:8]...)
	firstFrag := append([]byte{protoTCP, 0, 0, 0, 0, 0, 0, 1}, ports(40000, 443)...)
	laterFrag := append([]byte{protoTCP, 0, 0x05, 0xa8, 0, 0, 0, 1}, ports(1, 2)...)
	tests := []struct {
		name    string
		pkt     []byte
		hwProto uint16
		want    Record
	}{
		{"ipv4 tcp", ipv4Packet(protoTCP, 0, ports(40000, 80)), ethPIPv4,
			Record{Family: 2, Proto: protoTCP, Src: v4a, Dst: v4b, SrcPort: 40000, DstPort: 80, TCPFlags: 2, Length: 40}},
		{"ipv4 udp, family from version nibble", ipv4Packet(protoUDP, 0, ports(1234, 53)[:8]), 0,
			Record{Family: 2, Proto: protoUDP, Src: v4a, Dst: v4b, SrcPort: 1234, DstPort: 53, Length: 28}},
		{"ipv4 icmp", ipv4Packet(protoICMP, 0, []byte{3, 13, 0, 0}), ethPIPv4,
			Record{Family: 2, Proto: protoICMP, Src: v4a, Dst: v4b, ICMPType: 3, ICMPCode: 13, Length: 24}},
		{"ipv4 later fragment has no ports", ipv4Packet(protoUDP, 0x00b9, ports(1, 2)), ethPIPv4,
			Record{Family: 2, Proto: protoUDP, Src: v4a, Dst: v4b, Fragment: true, Length: 40}},
		{"ipv4 truncated before ports", ipv4Packet(protoTCP, 0, ports(1, 2))[:22], ethPIPv4,
			Record{Family: 2, Proto: protoTCP, Src: v4a, Dst: v4b, Length: 40}},
		{"ipv6 udp", ipv6Packet(protoUDP, ports(5353, 53)[:8]), ethPIPv6,
			Record{Family: 10, Proto: protoUDP, Src: v6a, Dst: v6b, SrcPort: 5353, DstPort: 53, Length: 48}},
		{"ipv6 hop-by-hop then udp", ipv6Packet(0, hopByHop), ethPIPv6,
			Record{Family: 10, Proto: protoUDP, Src: v6a, Dst: v6b, SrcPort: 5353, DstPort: 53, Length: 56}},
		{"ipv6 first fragment", ipv6Packet(44, firstFrag), ethPIPv6,
			Record{Family: 10, Proto: protoTCP, Src: v6a, Dst: v6b, SrcPort: 40000, DstPort: 443, TCPFlags: 2, Length: 68}},
		{"ipv6 later fragment", ipv6Packet(44, laterFrag), ethPIPv6,
			Record{Family: 10, Proto: protoTCP, Src: v6a, Dst: v6b, Fragment: true, Length: 68}},
		{"icmpv6 neighbour solicitation", ipv6Packet(protoICMPv6, []byte{135, 0, 0, 0}), ethPIPv6,
			Record{Family: 10, Proto: protoICMPv6, Src: v6a, Dst: v6b, ICMPType: 135, Length: 44}},
		{"arp is not ip", []byte{0, 1, 8, 0, 6, 4}, 0x0806, Record{}},
		{"hw protocol wins over a bogus nibble", ipv4Packet(protoTCP, 0, ports(1, 2)), ethPIPv6, Record{}},
		{"empty", nil, ethPIPv4, Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Record
			parsePayload(&got, tt.pkt, tt.hwProto)
			if got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
