package nft

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/zonewall/zonewall/enforcer"
)

// fieldLen is a field's length in a key (before register padding).
func fieldLen(t enforcer.FieldType) int {
	return int(fieldTypes[t].Bytes)
}

// decodeElement is the inverse of setElement: kernel bytes back to typed
// fields, so the live state renders exactly like a compiled one.
func decodeElement(s *enforcer.Set, ke nftables.SetElement) (enforcer.Element, bool) {
	lo, ok1 := decodeKey(s, ke.Key)
	hi := lo
	ok2 := true
	if s.Interval && len(ke.KeyEnd) > 0 {
		hi, ok2 = decodeKey(s, ke.KeyEnd)
	}
	if !ok1 || !ok2 {
		return enforcer.Element{}, false
	}
	e := enforcer.Element{Key: make([]enforcer.Field, len(s.Key)), Origin: enforcer.Origin{Flow: -1, Label: ke.Comment}}
	for i, t := range s.Key {
		f := lo[i]
		switch t {
		case enforcer.FieldIPv4, enforcer.FieldIPv6:
			f.AddrHi = hi[i].Addr
		case enforcer.FieldMark:
			f.Hi = hi[i].Lo &^ belowZoneByte
		default:
			f.Hi = hi[i].Lo
		}
		e.Key[i] = f
	}
	if s.Data != enforcer.FieldNone && len(ke.Val) >= 4 {
		e.Data = binary.NativeEndian.Uint32(ke.Val)
	}
	return e, true
}

// decodeKey splits one key into fields (low ends only: Lo / Addr / Name).
func decodeKey(s *enforcer.Set, b []byte) ([]enforcer.Field, bool) {
	out := make([]enforcer.Field, len(s.Key))
	for i, t := range s.Key {
		n := fieldLen(t)
		if len(b) < n {
			return nil, false
		}
		v := b[:n]
		var f enforcer.Field
		switch t {
		case enforcer.FieldIfname:
			f.Name = strings.TrimRight(string(v), "\x00")
		case enforcer.FieldEther:
			copy(f.MAC[:], v)
		case enforcer.FieldMark:
			f.Lo = binary.NativeEndian.Uint32(v)
		case enforcer.FieldIPv4, enforcer.FieldIPv6:
			f.Addr, _ = netip.AddrFromSlice(v)
			f.AddrHi = f.Addr
		case enforcer.FieldProto:
			f.Lo = uint32(v[0])
		case enforcer.FieldPort:
			f.Lo = uint32(binary.BigEndian.Uint16(v))
		}
		f.Hi = f.Lo
		out[i] = f
		if len(s.Key) > 1 {
			n = (n + 3) &^ 3 // register padding
		}
		if len(b) < n {
			n = len(b)
		}
		b = b[n:]
	}
	return out, true
}
