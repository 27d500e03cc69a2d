package enforcer

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// FieldType is the type of one component of a set key (or of a map's data).
type FieldType int

const (
	FieldNone   FieldType = iota
	FieldIfname           // interface name, 16 bytes
	FieldMark             // packet mark (zone bits), 4 bytes host order
	FieldIPv4             // ipv4_addr
	FieldIPv6             // ipv6_addr
	FieldProto            // inet_proto (l4 protocol number)
	FieldPort             // inet_service (network order)
	FieldEther            // ether_addr (6 bytes)
)

var fieldTypeNames = map[FieldType]string{
	FieldIfname: "ifname", FieldMark: "mark", FieldIPv4: "ipv4_addr",
	FieldIPv6: "ipv6_addr", FieldProto: "inet_proto", FieldPort: "inet_service", FieldEther: "ether_addr",
}

func (f FieldType) String() string { return fieldTypeNames[f] }

// Set is a named set (or map, when Data != FieldNone) in a table.
type Set struct {
	Name     string
	Key      []FieldType // more than one: a concatenation
	Data     FieldType   // FieldMark for maps; FieldNone for plain sets
	Interval bool        // keys are ranges (concatenated interval set)
	// Counter gives every element its own packet/byte counter, which a
	// match of the set's lookup increments (the allow sets: traffic per
	// zone pair and flow).
	Counter  bool
	Comment  string
	Elements []Element
	// Patch, when not nil, says how Elements was made from an earlier
	// list: Patch.Base with Removed taken out and Added put in. An
	// applier whose kernel holds exactly Base (the same array and length,
	// never modified in place) may send just the delta.
	Patch *SetPatch
}

// SetPatch is the delta from an earlier element list (Base) to a set's
// Elements: a changed element is in Removed (old) and Added (new).
type SetPatch struct {
	Base           []Element
	Added, Removed []Element
}

// DeltaFrom returns what to add to and remove from the element list base
// to get s's elements, when that is known without comparing elements: base
// is s's own list (nothing), or the list s was patched from (the patch,
// which is minimal). ok is false otherwise. Lists are compared by identity
// (SameElements): they are never modified in place once handed out.
func (s *Set) DeltaFrom(base []Element) (add, del []Element, ok bool) {
	switch {
	case SameElements(base, s.Elements):
		return nil, nil, true
	case s.Patch != nil && SameElements(base, s.Patch.Base):
		return s.Patch.Added, s.Patch.Removed, true
	}
	return nil, nil, false
}

// Element is one set element: one value (or inclusive range) per key field.
type Element struct {
	Key    []Field
	Data   uint32 // map value (a mark); unused for sets
	Origin Origin
}

// Field is one component of an element key. Which members are used depends
// on the set's FieldType: Name for ifname, MAC for ether_addr, Addr/AddrHi
// for addresses, Lo/Hi for mark, proto and port. Ranges are inclusive at
// both ends.
type Field struct {
	Name         string
	MAC          [6]byte
	Addr, AddrHi netip.Addr
	Lo, Hi       uint32
}

// EtherField is an exact MAC address.
func EtherField(mac [6]byte) Field { return Field{MAC: mac} }

// IfnameField is an exact interface name.
func IfnameField(name string) Field { return Field{Name: name} }

// NumField is an exact mark, protocol or port.
func NumField(v uint32) Field { return Field{Lo: v, Hi: v} }

// NumRange is an inclusive range of marks, protocols or ports.
func NumRange(lo, hi uint32) Field { return Field{Lo: lo, Hi: hi} }

// AddrField is one exact address.
func AddrField(a netip.Addr) Field { return Field{Addr: a, AddrHi: a} }

// AddrRange is an inclusive address range.
func AddrRange(lo, hi netip.Addr) Field { return Field{Addr: lo, AddrHi: hi} }

// PrefixField is the inclusive range a CIDR covers.
func PrefixField(p netip.Prefix) Field {
	p = p.Masked()
	return Field{Addr: p.Addr(), AddrHi: lastAddr(p)}
}

// render writes one field in nft syntax.
func (f Field) render(t FieldType) string {
	switch t {
	case FieldIfname:
		return fmt.Sprintf("%q", f.Name)
	case FieldEther:
		return net.HardwareAddr(f.MAC[:]).String()
	case FieldIPv4, FieldIPv6:
		if f.Addr == f.AddrHi {
			return f.Addr.String()
		}
		if p, ok := rangeAsPrefix(f.Addr, f.AddrHi); ok {
			return p.String()
		}
		return f.Addr.String() + "-" + f.AddrHi.String()
	case FieldMark:
		if f.Lo == f.Hi {
			return fmt.Sprintf("0x%08x", f.Lo)
		}
		return fmt.Sprintf("0x%08x-0x%08x", f.Lo, f.Hi)
	case FieldProto:
		if f.Lo == f.Hi {
			return protoName(uint8(f.Lo))
		}
		return fmt.Sprintf("%d-%d", f.Lo, f.Hi)
	default:
		if f.Lo == f.Hi {
			return fmt.Sprint(f.Lo)
		}
		return fmt.Sprintf("%d-%d", f.Lo, f.Hi)
	}
}

// String renders the element as nft prints it inside "elements = { ... }".
func (e Element) render(s *Set) string {
	parts := make([]string, len(e.Key))
	for i, f := range e.Key {
		parts[i] = f.render(s.Key[i])
	}
	out := strings.Join(parts, " . ")
	if s.Data != FieldNone {
		out += " : " + NumField(e.Data).render(s.Data)
	}
	if e.Origin.Label != "" {
		out += fmt.Sprintf(" comment %q", e.Origin.Label)
	}
	return out
}

func protoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "ipv6-icmp"
	}
	return fmt.Sprint(p)
}

// IP protocol numbers used in keys.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Compare orders two elements of s canonically: by key fields (in the set's
// field types), then data, then provenance label. Compile emits every set
// in this order, so two renderings of the same content are identical and
// enforcer/nft can diff sets by merging.
func (s *Set) Compare(a, b *Element) int {
	for i, t := range s.Key {
		x, y := &a.Key[i], &b.Key[i]
		var d int
		switch t {
		case FieldIfname:
			d = cmp.Compare(x.Name, y.Name)
		case FieldEther:
			d = bytes.Compare(x.MAC[:], y.MAC[:])
		case FieldIPv4, FieldIPv6:
			d = cmp.Or(x.Addr.Compare(y.Addr), x.AddrHi.Compare(y.AddrHi))
		default:
			d = cmp.Or(cmp.Compare(x.Lo, y.Lo), cmp.Compare(x.Hi, y.Hi))
		}
		if d != 0 {
			return d
		}
	}
	return cmp.Or(cmp.Compare(a.Data, b.Data), cmp.Compare(a.Origin.Label, b.Origin.Label))
}

// Sort puts the elements in canonical order (see Compare).
func (s *Set) Sort() {
	slices.SortFunc(s.Elements, func(a, b Element) int { return s.Compare(&a, &b) })
}
