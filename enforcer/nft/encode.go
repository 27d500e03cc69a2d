package nft

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/zonewall/zonewall/enforcer"
)

// Key encoding follows the kernel: every field of a concatenation starts on
// a 4-byte register boundary (padding zeroed); marks are host byte order,
// ports network byte order; interval keys go as Key (first) and KeyEnd
// (last) — inclusive for concatenated-range sets (pipapo), which every
// interval set of ours is.

var fieldTypes = map[enforcer.FieldType]nftables.SetDatatype{
	enforcer.FieldIfname: nftables.TypeIFName,
	enforcer.FieldMark:   nftables.TypeMark,
	enforcer.FieldIPv4:   nftables.TypeIPAddr,
	enforcer.FieldIPv6:   nftables.TypeIP6Addr,
	enforcer.FieldProto:  nftables.TypeInetProto,
	enforcer.FieldPort:   nftables.TypeInetService,
	enforcer.FieldEther:  nftables.TypeEtherAddr,
}

// keyType is the set's key datatype (a concatenation when several fields).
func keyType(s *enforcer.Set) nftables.SetDatatype {
	if len(s.Key) == 1 {
		return fieldTypes[s.Key[0]]
	}
	types := make([]nftables.SetDatatype, len(s.Key))
	for i, f := range s.Key {
		types[i] = fieldTypes[f]
	}
	return nftables.MustConcatSetType(types...)
}

// fieldBytes encodes one field's low (hi=false) or high end.
func fieldBytes(t enforcer.FieldType, f enforcer.Field, hi bool) []byte {
	num := f.Lo
	addr := f.Addr
	if hi {
		num, addr = f.Hi, f.AddrHi
	}
	switch t {
	case enforcer.FieldIfname:
		b := make([]byte, 16)
		copy(b, f.Name)
		return b
	case enforcer.FieldEther:
		return append([]byte(nil), f.MAC[:]...)
	case enforcer.FieldMark:
		if hi && f.Lo != f.Hi {
			// A range of zone ids: fill the byte below the zone byte (in the
			// big-endian order the range set compares in), so a range of ids
			// expands into as few masks as a range of 8-bit numbers. Packet
			// marks are masked to the zone byte; the filled bits never occur.
			num |= belowZoneByte
		}
		return binary.NativeEndian.AppendUint32(nil, num)
	case enforcer.FieldIPv4, enforcer.FieldIPv6:
		return addr.AsSlice()
	case enforcer.FieldProto:
		return []byte{byte(num)}
	case enforcer.FieldPort:
		return binary.BigEndian.AppendUint16(nil, uint16(num))
	}
	panic(fmt.Sprintf("unknown field type %d", t))
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func keyBytes(s *enforcer.Set, e enforcer.Element, hi bool) []byte {
	if len(s.Key) == 1 {
		return fieldBytes(s.Key[0], e.Key[0], hi)
	}
	var out []byte
	for i, t := range s.Key {
		out = append(out, pad4(fieldBytes(t, e.Key[i], hi))...)
	}
	return out
}

// belowZoneByte is, in host byte order, the byte that follows the zone byte
// (0x00ff0000) when the mark's bytes are read in memory order.
var belowZoneByte = func() uint32 {
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 { // little endian
		return 0xff000000
	}
	return 0x0000ff00
}()

// setElement encodes one element for the kernel.
func setElement(s *enforcer.Set, e enforcer.Element) nftables.SetElement {
	el := nftables.SetElement{Key: keyBytes(s, e, false)}
	if s.Interval {
		el.KeyEnd = keyBytes(s, e, true)
	}
	if s.Data != enforcer.FieldNone {
		el.Val = binary.NativeEndian.AppendUint32(nil, e.Data)
	}
	// `nft list` then shows which flow or default each allow element serves.
	el.Comment = e.Origin.Label
	return el
}
