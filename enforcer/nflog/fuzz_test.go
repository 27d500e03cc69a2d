package nflog

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// FuzzParsePayload: any bytes the kernel copies (the copy range cuts
// packets anywhere) fill a Record without panicking, and what is filled is
// consistent: addresses of the family found, ports only for unfragmented
// TCP/UDP-like packets.
func FuzzParsePayload(f *testing.F) {
	f.Add(ipv4Packet(6, 0, ports(40000, 443)), uint16(ethPIPv4))
	f.Add(ipv4Packet(17, 0x2000, ports(53, 53)), uint16(0))
	f.Add(ipv4Packet(1, 0, []byte{8, 0, 0, 0}), uint16(ethPIPv4))
	f.Add(ipv6Packet(6, ports(1, 2)), uint16(ethPIPv6))
	f.Add(ipv6Packet(44, append([]byte{6, 0, 0, 1, 0, 0, 0, 0}, ports(3, 4)...)), uint16(0))
	f.Add(ipv6Packet(0, append([]byte{58, 0, 0, 0, 0, 0, 0, 0}, 128, 0, 0, 0)), uint16(ethPIPv6))
	f.Add([]byte{0x45}, uint16(ethPIPv4))
	f.Add([]byte{0x4f, 0, 0, 0}, uint16(0x0806))
	f.Fuzz(func(t *testing.T, b []byte, hwProto uint16) {
		var r Record
		parsePayload(&r, b, hwProto)
		switch r.Family {
		case 0:
			if r.Src.IsValid() || r.Dst.IsValid() || r.SrcPort != 0 || r.DstPort != 0 {
				t.Fatalf("fields without a family: %+v", r)
			}
		case 2:
			if !r.Src.Is4() || !r.Dst.Is4() {
				t.Fatalf("IPv4 record with addresses %v %v", r.Src, r.Dst)
			}
		case 10:
			if !r.Src.Is6() || !r.Dst.Is6() {
				t.Fatalf("IPv6 record with addresses %v %v", r.Src, r.Dst)
			}
		default:
			t.Fatalf("family %d", r.Family)
		}
		if r.Fragment && (r.SrcPort != 0 || r.DstPort != 0) {
			t.Fatalf("ports of a non-first fragment: %+v", r)
		}
	})
}

// FuzzParseMessage: any netlink message body of the packet type is decoded
// or refused with an error, never a panic; the prefix never holds a NUL.
func FuzzParseMessage(f *testing.F) {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	ae.Bytes(attrPacketHdr, []byte{0x08, 0x00, 2, 0})
	ae.Uint32(attrMark, 0x10002)
	ae.Bytes(attrPrefix, []byte("zw:drop:no-flow-world \x00"))
	ae.Uint32(attrSeq, 7)
	ae.Bytes(attrPayload, ipv4Packet(6, 0, ports(40000, 443)))
	body, err := ae.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte{nfprotoIPv4, 0, 0x1b, 0x59}, body...))
	f.Add([]byte{nfprotoIPv6, 0, 0, 0})
	f.Add([]byte{7, 0, 0, 0, 8, 0, 10, 0, 1, 2, 3, 4})
	f.Add([]byte{2, 0})
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		m := netlink.Message{Header: netlink.Header{Type: packetMsgType}, Data: data}
		r, _, err := parseMessage(m, now)
		if err != nil {
			return
		}
		for i := 0; i < len(r.Prefix); i++ {
			if r.Prefix[i] == 0 {
				t.Fatalf("prefix holds a NUL: %q", r.Prefix)
			}
		}
		if r.Time.IsZero() {
			t.Fatal("no time")
		}
	})
}
