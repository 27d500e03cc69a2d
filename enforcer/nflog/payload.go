package nflog

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers the parser looks into.
const (
	protoICMP    = 1
	protoTCP     = 6
	protoUDP     = 17
	protoSCTP    = 132
	protoUDPLite = 136
	protoICMPv6  = 58
)

// parsePayload fills the layer-3 and layer-4 fields of r from a packet that
// starts at its network header. A truncated packet fills what it can: the
// copy range is deliberately small.
func parsePayload(r *Record, b []byte, hwProto uint16) {
	if len(b) == 0 {
		return
	}
	version := b[0] >> 4
	switch {
	case hwProto == ethPIPv4 || (hwProto == 0 && version == 4):
		if version == 4 {
			parseIPv4(r, b)
		}
	case hwProto == ethPIPv6 || (hwProto == 0 && version == 6):
		if version == 6 {
			parseIPv6(r, b)
		}
	}
}

func parseIPv4(r *Record, b []byte) {
	if len(b) < 20 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return
	}
	r.Family = 2
	r.Length = binary.BigEndian.Uint16(b[2:4])
	r.Proto = b[9]
	r.Src = netip.AddrFrom4([4]byte(b[12:16]))
	r.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
		r.Fragment = true
		return
	}
	if len(b) > ihl {
		parseL4(r, b[ihl:])
	}
}

func parseIPv6(r *Record, b []byte) {
	if len(b) < 40 {
		return
	}
	r.Family = 10
	r.Length = 40 + binary.BigEndian.Uint16(b[4:6])
	r.Src = netip.AddrFrom16([16]byte(b[8:24]))
	r.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	next, rest := b[6], b[40:]
	// Walk the extension headers to the upper-layer header.
	for {
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(rest) < 8 {
				r.Proto = next
				return
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n {
				r.Proto = next
				return
			}
			next, rest = rest[0], rest[n:]
		case 44: // fragment
			if len(rest) < 8 {
				r.Proto = next
				return
			}
			if binary.BigEndian.Uint16(rest[2:4])&0xfff8 != 0 {
				r.Proto, r.Fragment = rest[0], true
				return
			}
			next, rest = rest[0], rest[8:]
		case 51: // authentication header: length in 4-octet units minus 2
			if len(rest) < 8 {
				r.Proto = next
				return
			}
			n := (int(rest[1]) + 2) * 4
			if len(rest) < n {
				r.Proto = next
				return
			}
			next, rest = rest[0], rest[n:]
		default:
			r.Proto = next
			parseL4(r, rest)
			return
		}
	}
}

func parseL4(r *Record, b []byte) {
	switch r.Proto {
	case protoTCP:
		if len(b) >= 14 {
			r.TCPFlags = b[13]
		}
		fallthrough
	case protoUDP, protoSCTP, protoUDPLite:
		if len(b) >= 4 {
			r.SrcPort = binary.BigEndian.Uint16(b[0:2])
			r.DstPort = binary.BigEndian.Uint16(b[2:4])
		}
	case protoICMP, protoICMPv6:
		if len(b) >= 2 {
			r.ICMPType, r.ICMPCode = b[0], b[1]
		}
	}
}
