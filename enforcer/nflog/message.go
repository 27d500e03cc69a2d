package nflog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
)

// errNotPacket marks a netlink message that is not an NFLOG packet (the
// reader skips those).
var errNotPacket = errors.New("not an nflog packet message")

const nfgenmsgLen = 4

// packetMsgType is the netlink message type of a logged packet.
const packetMsgType = netlink.HeaderType(nfnlSubsysULOG<<8 | msgPacket)

// parseMessage decodes one NFULNL_MSG_PACKET message. now is used when the
// kernel sent no timestamp.
func parseMessage(m netlink.Message, now time.Time) (Record, bool, error) {
	var r Record
	if m.Header.Type != packetMsgType {
		return r, false, errNotPacket
	}
	if len(m.Data) < nfgenmsgLen {
		return r, false, fmt.Errorf("nflog packet message: %d bytes, shorter than its header", len(m.Data))
	}
	r.HookFamily = m.Data[0]
	ad, err := netlink.NewAttributeDecoder(m.Data[nfgenmsgLen:])
	if err != nil {
		return r, false, fmt.Errorf("nflog packet attributes: %w", err)
	}
	ad.ByteOrder = binary.BigEndian
	var (
		payload []byte
		hwProto uint16
		hasSeq  bool
	)
	for ad.Next() {
		switch ad.Type() {
		case attrPacketHdr:
			if b := ad.Bytes(); len(b) >= 3 {
				hwProto = binary.BigEndian.Uint16(b[0:2])
				r.Hook = b[2]
			}
		case attrMark:
			r.Mark = ad.Uint32()
		case attrTimestamp:
			if b := ad.Bytes(); len(b) >= 16 {
				sec := binary.BigEndian.Uint64(b[0:8])
				usec := binary.BigEndian.Uint64(b[8:16])
				r.Time = time.Unix(int64(sec), int64(usec)*1000)
			}
		case attrInDev:
			r.InIndex = ad.Uint32()
		case attrOutDev:
			r.OutIndex = ad.Uint32()
		case attrPhysInDev:
			r.PhysInIndex = ad.Uint32()
		case attrPhysOutDev:
			r.PhysOutIndex = ad.Uint32()
		case attrPayload:
			payload = ad.Bytes()
		case attrPrefix:
			b := ad.Bytes()
			if i := bytes.IndexByte(b, 0); i >= 0 {
				b = b[:i]
			}
			r.Prefix = string(b)
		case attrSeq:
			r.Seq = ad.Uint32()
			hasSeq = true
		}
	}
	if err := ad.Err(); err != nil {
		return r, false, fmt.Errorf("nflog packet attributes: %w", err)
	}
	if r.Time.IsZero() {
		r.Time = now
	}
	if r.HookFamily == nfprotoIPv4 && hwProto == 0 {
		hwProto = ethPIPv4
	}
	if r.HookFamily == nfprotoIPv6 && hwProto == 0 {
		hwProto = ethPIPv6
	}
	parsePayload(&r, payload, hwProto)
	return r, hasSeq, nil
}
