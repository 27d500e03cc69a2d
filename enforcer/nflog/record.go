package nflog

import (
	"net/netip"
	"time"
)

// Record is one packet that an nftables `log group N` rule sent to userspace.
type Record struct {
	// Time is the kernel's timestamp of the packet, or the time it was
	// received when the kernel sent none (forwarded packets often carry none).
	Time time.Time
	// Prefix is the rule's `log prefix`, without the trailing NUL.
	Prefix string
	// HookFamily is the netfilter family of the logging rule's hook:
	// 2 (ip/inet on IPv4), 10 (ip6/inet on IPv6) or 7 (bridge).
	HookFamily uint8
	// Hook is the netfilter hook number (0 prerouting, 1 input, 2 forward,
	// 3 output, 4 postrouting).
	Hook uint8
	// Family is the packet's address family: 2 (AF_INET), 10 (AF_INET6), or
	// 0 when the payload is not IP (or was not copied).
	Family uint8
	// Proto is the layer-4 protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // TCP, UDP, SCTP, UDP-Lite; 0 otherwise
	// ICMPType and ICMPCode are set for ICMP and ICMPv6.
	ICMPType, ICMPCode uint8
	// TCPFlags holds the TCP flag byte (SYN is 0x02).
	TCPFlags uint8
	// Length is the packet's length from its IP header (the payload copy is
	// truncated to the copy range).
	Length uint16
	// Fragment is true for a non-first IPv4/IPv6 fragment (no ports).
	Fragment bool

	// Interfaces by index and, when they could be resolved in the reader's
	// network namespace, by name. With br_netfilter, a packet logged in the
	// inet forward hook has InIface = the bridge and PhysInIface = the bridge
	// port (a container's host-side veth).
	InIndex, OutIndex         uint32
	PhysInIndex, PhysOutIndex uint32
	InIface, OutIface         string
	PhysInIface, PhysOutIface string

	Mark uint32
	// Seq is the group's sequence number of this message.
	Seq uint32
}
