package nflog

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
)

// packetMessage builds an NFULNL_MSG_PACKET the way the kernel does.
func packetMessage(t *testing.T, family uint8, attrs func(ae *netlink.AttributeEncoder)) netlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	attrs(ae)
	body, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{
		Header: netlink.Header{Type: packetMsgType},
		Data:   append([]byte{family, 0, 0x1b, 0x59}, body...),
	}
}

func TestParseMessage(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	m := packetMessage(t, nfprotoIPv4, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(attrPacketHdr, []byte{0x08, 0x00, 2, 0})
		ae.Uint32(attrMark, 0x10002)
		stamp := make([]byte, 16)
		binary.BigEndian.PutUint64(stamp[0:], uint64(ts.Unix()))
		binary.BigEndian.PutUint64(stamp[8:], uint64(ts.Nanosecond()/1000))
		ae.Bytes(attrTimestamp, stamp)
		ae.Uint32(attrInDev, 4)
		ae.Uint32(attrOutDev, 5)
		ae.Uint32(attrPhysInDev, 17)
		ae.Uint32(attrPhysOutDev, 19)
		ae.Bytes(attrPayload, ipv4Packet(protoTCP, 0, ports(33000, 8080)))
		ae.Bytes(attrPrefix, []byte("zw drop web>api\x00"))
		ae.Uint32(attrSeq, 41)
		ae.Bytes(99, []byte{1, 2, 3}) // unknown attributes are skipped
	})
	got, hasSeq, err := parseMessage(m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		Time: ts, Prefix: "zw drop web>api", HookFamily: nfprotoIPv4, Hook: 2, Family: 2, Proto: protoTCP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 33000, DstPort: 8080,
		TCPFlags: 2, Length: 40, InIndex: 4, OutIndex: 5, PhysInIndex: 17, PhysOutIndex: 19, Mark: 0x10002, Seq: 41,
	}
	if !hasSeq || !got.Time.Equal(want.Time) {
		t.Errorf("hasSeq %v, time %v; want true, %v", hasSeq, got.Time, want.Time)
	}
	got.Time = want.Time
	if got != want {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

func TestParseMessageWithoutTimestampOrHeader(t *testing.T) {
	now := time.Now()
	m := packetMessage(t, nfprotoIPv6, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(attrPayload, ipv6Packet(protoUDP, ports(1, 53)[:8]))
	})
	got, hasSeq, err := parseMessage(m, now)
	if err != nil {
		t.Fatal(err)
	}
	if hasSeq || !got.Time.Equal(now) || got.Family != 10 || got.DstPort != 53 {
		t.Errorf("got %+v (hasSeq %v); want receive time, IPv6 UDP to port 53, no seq", got, hasSeq)
	}
}

func TestParseMessageRejects(t *testing.T) {
	if _, _, err := parseMessage(netlink.Message{Header: netlink.Header{Type: netlink.Error}}, time.Now()); err != errNotPacket {
		t.Errorf("error message: %v; want errNotPacket", err)
	}
	if _, _, err := parseMessage(netlink.Message{Header: netlink.Header{Type: packetMsgType}, Data: []byte{2}}, time.Now()); err == nil {
		t.Error("short message accepted")
	}
	bad := netlink.Message{Header: netlink.Header{Type: packetMsgType}, Data: []byte{2, 0, 0, 0, 0xff, 0xff, 0, 0}}
	if _, _, err := parseMessage(bad, time.Now()); err == nil {
		t.Error("malformed attributes accepted")
	}
}
