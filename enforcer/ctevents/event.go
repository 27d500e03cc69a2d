// Package ctevents reads the kernel's connection-tracking "new" events
// (ctnetlink, group NFNLGRP_CONNTRACK_NEW): one event per connection the
// kernel confirmed, i.e. one that passed every hook. In audit mode every
// container connection passes, so the events are every connection a
// container opens or receives, allowed or would-be dropped.
//
// Listening adds no rule to the packet path: the kernel builds an event only
// while a listener is subscribed (net.netfilter.nf_conntrack_events = 2,
// the default), once per new connection, never per packet.
package ctevents

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// Event is a new connection. Orig is the direction of the first packet as
// it arrived (before NAT); Reply is what the kernel expects back, so
// Reply.Src is the real destination after DNAT (a published port's
// container) and Reply.Dst the real source after SNAT (masquerade).
type Event struct {
	Proto uint8 // IP protocol number
	Orig  Tuple
	Reply Tuple
	Mark  uint32 // conntrack mark (0 when the kernel sent none)
}

// Tuple is one direction of a connection.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // 0 for protocols without ports
}

// Netlink constants (linux/netfilter/nfnetlink.h, nfnetlink_conntrack.h).
const (
	subsysCTNetlink = 1
	msgCTNew        = 0
	groupCTNew      = 1 // NFNLGRP_CONNTRACK_NEW

	ctaTupleOrig  = 1
	ctaTupleReply = 2
	ctaMark       = 8

	ctaTupleIP    = 1
	ctaTupleProto = 2

	ctaIPv4Src = 1
	ctaIPv4Dst = 2
	ctaIPv6Src = 3
	ctaIPv6Dst = 4

	ctaProtoNum     = 1
	ctaProtoSrcPort = 2
	ctaProtoDstPort = 3
)

// isNew reports whether a netlink message type is a ctnetlink "new" message.
func isNew(t netlink.HeaderType) bool {
	return uint16(t) == subsysCTNetlink<<8|msgCTNew
}

// Parse decodes the payload of a ctnetlink message (nfgenmsg + attributes).
func Parse(b []byte) (Event, error) {
	if len(b) < 4 {
		return Event{}, errors.New("ctevents: short message")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return Event{}, fmt.Errorf("ctevents: %w", err)
	}
	ad.ByteOrder = binary.BigEndian
	var ev Event
	var haveOrig bool
	for ad.Next() {
		switch ad.Type() {
		case ctaTupleOrig:
			haveOrig = true
			ad.Nested(func(nad *netlink.AttributeDecoder) error { return parseTuple(nad, &ev.Orig, &ev.Proto) })
		case ctaTupleReply:
			ad.Nested(func(nad *netlink.AttributeDecoder) error { return parseTuple(nad, &ev.Reply, nil) })
		case ctaMark:
			ev.Mark = ad.Uint32()
		}
	}
	if err := ad.Err(); err != nil {
		return Event{}, fmt.Errorf("ctevents: %w", err)
	}
	if !haveOrig || !ev.Orig.Src.IsValid() || !ev.Orig.Dst.IsValid() {
		return Event{}, errors.New("ctevents: no original tuple")
	}
	if !ev.Reply.Src.IsValid() {
		// Without a reply tuple, the original one is the best guess.
		ev.Reply = Tuple{Src: ev.Orig.Dst, Dst: ev.Orig.Src, SrcPort: ev.Orig.DstPort, DstPort: ev.Orig.SrcPort}
	}
	return ev, nil
}

func parseTuple(ad *netlink.AttributeDecoder, t *Tuple, proto *uint8) error {
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case ctaTupleIP:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					a, ok := netip.AddrFromSlice(nad.Bytes())
					if !ok {
						continue
					}
					switch nad.Type() {
					case ctaIPv4Src, ctaIPv6Src:
						t.Src = a
					case ctaIPv4Dst, ctaIPv6Dst:
						t.Dst = a
					}
				}
				return nil
			})
		case ctaTupleProto:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				nad.ByteOrder = binary.BigEndian
				for nad.Next() {
					switch nad.Type() {
					case ctaProtoNum:
						if proto != nil {
							*proto = nad.Uint8()
						}
					case ctaProtoSrcPort:
						t.SrcPort = nad.Uint16()
					case ctaProtoDstPort:
						t.DstPort = nad.Uint16()
					}
				}
				return nil
			})
		}
	}
	return nil
}
