package nflog

// Constants of the nfnetlink_log protocol, from the kernel's
// include/uapi/linux/netfilter/nfnetlink_log.h and nfnetlink.h. They are
// spelled out here because golang.org/x/sys/unix does not carry them all.

const (
	netlinkNetfilter = 12 // NETLINK_NETFILTER

	nfnlSubsysULOG = 4 // NFNL_SUBSYS_ULOG
	nfnetlinkV0    = 0 // NFNETLINK_V0

	msgPacket = 0 // NFULNL_MSG_PACKET
	msgConfig = 1 // NFULNL_MSG_CONFIG
)

// Configuration attributes (NFULA_CFG_*).
const (
	cfgCmd     = 1 // struct nfulnl_msg_config_cmd
	cfgMode    = 2 // struct nfulnl_msg_config_mode
	cfgNlBufSz = 3 // be32
	cfgTimeout = 4 // be32, 1/100 s
	cfgQThresh = 5 // be32
	cfgFlags   = 6 // be16
)

// Configuration commands (NFULNL_CFG_CMD_*).
const (
	cmdBind   = 1
	cmdUnbind = 2
)

// Copy modes and configuration flags.
const (
	copyPacket = 2      // NFULNL_COPY_PACKET
	flagSeq    = 0x0001 // NFULNL_CFG_F_SEQ: per-group sequence numbers, used to count losses
)

// Packet attributes (NFULA_*).
const (
	attrPacketHdr  = 1  // struct nfulnl_msg_packet_hdr
	attrMark       = 2  // be32
	attrTimestamp  = 3  // struct nfulnl_msg_packet_timestamp
	attrInDev      = 4  // be32 ifindex
	attrOutDev     = 5  // be32 ifindex
	attrPhysInDev  = 6  // be32 ifindex (bridge port)
	attrPhysOutDev = 7  // be32 ifindex (bridge port)
	attrPayload    = 9  // the packet from its network header
	attrPrefix     = 10 // NUL-terminated string
	attrSeq        = 12 // be32, with flagSeq
)

// Netfilter protocol families seen in the nfgenmsg header of a packet message.
const (
	nfprotoIPv4   = 2
	nfprotoBridge = 7
	nfprotoIPv6   = 10
)

// Ethernet types in the packet header's hw_protocol.
const (
	ethPIPv4 = 0x0800
	ethPIPv6 = 0x86dd
)
