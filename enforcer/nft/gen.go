package nft

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// genConn opens the netlink socket getGen uses; it is kept open because
// dialing into another namespace costs milliseconds.
func genConn(netns int) (*netlink.Conn, error) {
	cfg := &netlink.Config{}
	if netns >= 0 {
		cfg.NetNS = netns
	}
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, fmt.Errorf("netlink dial: %w", err)
	}
	return c, nil
}

// getGen reads the nftables ruleset generation id, which the kernel bumps
// on every committed change by anyone. google/nftables v0.3.0 has no call
// for it, so this speaks NFT_MSG_GETGEN directly.
func getGen(c *netlink.Conn) (uint32, error) {
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN),
			Flags: netlink.Request,
		},
		Data: []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	})
	if err != nil {
		return 0, fmt.Errorf("NFT_MSG_GETGEN: %w", err)
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return 0, err
		}
		ad.ByteOrder = binary.BigEndian
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				return ad.Uint32(), nil
			}
		}
	}
	return 0, fmt.Errorf("NFT_MSG_GETGEN: no generation id in reply")
}
