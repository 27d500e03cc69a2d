package nflog

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
)

// configMessage builds an NFULNL_MSG_CONFIG request for group.
func configMessage(group uint16, attrs func(ae *netlink.AttributeEncoder)) (netlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	attrs(ae)
	body, err := ae.Encode()
	if err != nil {
		return netlink.Message{}, fmt.Errorf("encode nflog config: %w", err)
	}
	// nfgenmsg: family AF_UNSPEC, version, res_id = group (big endian).
	hdr := []byte{0, nfnetlinkV0, 0, 0}
	binary.BigEndian.PutUint16(hdr[2:], group)
	return netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(nfnlSubsysULOG<<8 | msgConfig),
			Flags: netlink.Request | netlink.Acknowledge,
		},
		Data: append(hdr, body...),
	}, nil
}

// bindMessage binds the socket to group (the kernel answers EBUSY when
// another socket has it).
func bindMessage(group uint16) (netlink.Message, error) {
	return configMessage(group, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cfgCmd, []byte{cmdBind})
	})
}

func unbindMessage(group uint16) (netlink.Message, error) {
	return configMessage(group, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cfgCmd, []byte{cmdUnbind})
	})
}

// modeMessage sets the copy mode and range, batching and sequence numbers.
func modeMessage(group uint16, o Options) (netlink.Message, error) {
	return configMessage(group, func(ae *netlink.AttributeEncoder) {
		mode := make([]byte, 6) // struct nfulnl_msg_config_mode (packed)
		binary.BigEndian.PutUint32(mode[0:4], uint32(o.CopyRange))
		mode[4] = copyPacket
		ae.Bytes(cfgMode, mode)
		ae.Uint32(cfgQThresh, o.QueueThreshold)
		ae.Uint32(cfgTimeout, o.FlushTimeoutCentis)
		ae.Uint16(cfgFlags, flagSeq)
		if o.KernelBufferSize > 0 {
			ae.Uint32(cfgNlBufSz, o.KernelBufferSize)
		}
	})
}
