package ctevents

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
)

// encode builds a ctnetlink "new" payload as the kernel sends it.
func encode(t *testing.T, proto uint8, src, dst netip.Addr, sport, dport uint16) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	tuple := func(s, d netip.Addr, sp, dp uint16) func(*netlink.AttributeEncoder) error {
		return func(ae *netlink.AttributeEncoder) error {
			ae.ByteOrder = binary.BigEndian
			ae.Nested(ctaTupleIP, func(ae *netlink.AttributeEncoder) error {
				ae.Bytes(ctaIPv6Src, s.AsSlice())
				ae.Bytes(ctaIPv6Dst, d.AsSlice())
				return nil
			})
			ae.Nested(ctaTupleProto, func(ae *netlink.AttributeEncoder) error {
				ae.ByteOrder = binary.BigEndian
				ae.Uint8(ctaProtoNum, proto)
				ae.Uint16(ctaProtoSrcPort, sp)
				ae.Uint16(ctaProtoDstPort, dp)
				return nil
			})
			return nil
		}
	}
	ae.Nested(ctaTupleOrig, tuple(src, dst, sport, dport))
	ae.Nested(ctaTupleReply, tuple(dst, src, dport, sport))
	ae.Uint32(ctaMark, 0x00020000)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{10, 0, 0, 0}, b...)
}

func TestParse(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	ev, err := Parse(encode(t, 6, src, dst, 40000, 443))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{Proto: 6, Orig: Tuple{src, dst, 40000, 443}, Reply: Tuple{dst, src, 443, 40000}, Mark: 0x00020000}
	if ev != want {
		t.Errorf("Parse = %+v\nwant %+v", ev, want)
	}
}

// TestParseHostile: truncated and random bytes give errors, never panics.
func TestParseHostile(t *testing.T) {
	good := encode(t, 17, netip.MustParseAddr("::1"), netip.MustParseAddr("::2"), 1, 53)
	for i := 0; i < len(good); i++ {
		_, _ = Parse(good[:i])
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		b := make([]byte, r.IntN(200))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		_, _ = Parse(b)
	}
	if _, err := Parse([]byte{1, 2}); err == nil {
		t.Error("short message parsed")
	}
}
