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
	case enforcer.FieldMark:
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
