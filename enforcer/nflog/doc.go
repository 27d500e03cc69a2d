// Package nflog reads the packets that nftables rules send to a netfilter log
// group (`log group N prefix "..."`), over nfnetlink_log with
// github.com/mdlayher/netlink.
//
// The reader binds the group, asks the kernel for the first bytes of each
// packet (enough for the IP and TCP/UDP/ICMP headers) and for per-group
// sequence numbers, so that messages the kernel could not deliver (a full
// socket buffer, reported as ENOBUFS) are counted by Lost instead of
// disappearing silently.
package nflog
