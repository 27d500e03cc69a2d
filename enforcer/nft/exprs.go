package nft

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/zonewall/zonewall/enforcer"
	"golang.org/x/sys/unix"
)

// Registers: NFT_REG_1 for single values; concatenations use consecutive
// 32-bit registers starting at NFT_REG32_00 (which aliases NFT_REG_1).
const (
	reg1    = 1
	reg32_0 = 8
)

// ruleExprs translates one rule; sets resolves set names to the objects
// created in the same batch (lookups need their IDs).
func ruleExprs(r *enforcer.Rule, sets map[string]*nftables.Set) ([]expr.Any, error) {
	var out []expr.Any
	for _, m := range r.Matches {
		e, err := matchExprs(m, sets)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	if r.SetMark != nil {
		s, ok := sets[r.SetMark.Map]
		if !ok {
			return nil, fmt.Errorf("map %q not defined", r.SetMark.Map)
		}
		load, src := loadKey(r.SetMark.Key)
		out = append(out, load...)
		out = append(out, &expr.Lookup{SourceRegister: src, DestRegister: reg1, IsDestRegSet: true, SetName: s.Name, SetID: s.ID})
		if r.SetMark.Ct {
			out = append(out, &expr.Ct{Key: expr.CtKeyMARK, SourceRegister: true, Register: reg1})
		} else {
			out = append(out, &expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1})
		}
	}
	if r.Log != nil {
		out = append(out,
			&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(r.Log.RatePerSec), Unit: expr.LimitTimeSecond, Burst: r.Log.BurstPacket},
			&expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX, Group: r.Log.Group, Data: []byte(r.Log.Prefix)})
	}
	if r.Counter {
		out = append(out, &expr.Counter{})
	}
	switch r.Verdict.Kind {
	case enforcer.VerdictAccept:
		out = append(out, &expr.Verdict{Kind: expr.VerdictAccept})
	case enforcer.VerdictDrop:
		out = append(out, &expr.Verdict{Kind: expr.VerdictDrop})
	case enforcer.VerdictGoto:
		out = append(out, &expr.Verdict{Kind: expr.VerdictGoto, Chain: r.Verdict.Chain})
	}
	return out, nil
}

func cmpOp(negate bool) expr.CmpOp {
	if negate {
		return expr.CmpOpNeq
	}
	return expr.CmpOpEq
}

func network(off, n uint32, reg uint32) *expr.Payload {
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}
}

func matchExprs(m enforcer.Match, sets map[string]*nftables.Set) ([]expr.Any, error) {
	switch m := m.(type) {
	case enforcer.MatchIifnamePrefix:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
			&expr.Cmp{Op: cmpOp(m.Negate), Register: reg1, Data: []byte(m.Prefix)},
		}, nil
	case enforcer.MatchMarkZone:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			zoneMask(reg1),
			&expr.Cmp{Op: cmpOp(m.Negate), Register: reg1, Data: binary.NativeEndian.AppendUint32(nil, m.Value)},
		}, nil
	case enforcer.MatchMarkBit:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, m.Bit), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
		}, nil
	case enforcer.MatchEtherType:
		out := []expr.Any{&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseLLHeader, Offset: 12, Len: 2}}
		if !m.Negate && len(m.Types) != 1 {
			return nil, fmt.Errorf("ether type: only one type or a negated list is supported")
		}
		for _, t := range m.Types {
			out = append(out, &expr.Cmp{Op: cmpOp(m.Negate), Register: reg1, Data: binary.BigEndian.AppendUint16(nil, t)})
		}
		return out, nil
	case enforcer.MatchNfproto:
		proto := byte(unix.NFPROTO_IPV4)
		if m.IPv6 {
			proto = unix.NFPROTO_IPV6
		}
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}},
		}, nil
	case enforcer.MatchCtState:
		var bits uint32
		for _, s := range m.States {
			switch s {
			case "established":
				bits |= expr.CtStateBitESTABLISHED
			case "related":
				bits |= expr.CtStateBitRELATED
			case "invalid":
				bits |= expr.CtStateBitINVALID
			case "new":
				bits |= expr.CtStateBitNEW
			default:
				return nil, fmt.Errorf("ct state %q not supported", s)
			}
		}
		return []expr.Any{
			&expr.Ct{Key: expr.CtKeySTATE, Register: reg1},
			&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, bits), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)},
		}, nil
	case enforcer.MatchL4Proto:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{m.Proto}},
		}, nil
	case enforcer.MatchICMPv6Type:
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpGte, Register: reg1, Data: []byte{m.From}},
			&expr.Cmp{Op: expr.CmpOpLte, Register: reg1, Data: []byte{m.To}},
		}, nil
	case enforcer.MatchAddr:
		load, ok := loadPart(m.Key, reg1)[0].(*expr.Payload)
		if !ok {
			return nil, fmt.Errorf("address match on %s not supported", m.Key)
		}
		return prefixMatch(load, m.Prefix), nil
	case enforcer.MatchNDTarget:
		e := prefixMatch(&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 8, Len: 16}, m.Prefix)
		e[len(e)-1].(*expr.Cmp).Op = cmpOp(m.Negate)
		return e, nil
	case enforcer.MatchARPSaddr:
		return []expr.Any{
			network(14, 4, reg1),
			&expr.Cmp{Op: cmpOp(m.Negate), Register: reg1, Data: m.Addr.AsSlice()},
		}, nil
	case enforcer.MatchLookup:
		s, ok := sets[m.Set]
		if !ok {
			return nil, fmt.Errorf("set %q not defined", m.Set)
		}
		out, src := loadKey(m.Key)
		return append(out, &expr.Lookup{SourceRegister: src, SetName: s.Name, SetID: s.ID, Invert: m.Negate}), nil
	}
	return nil, fmt.Errorf("match %T not supported", m)
}

func zoneMask(reg uint32) *expr.Bitwise {
	return &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4,
		Mask: binary.NativeEndian.AppendUint32(nil, enforcer.ZoneMask), Xor: make([]byte, 4)}
}

func prefixMatch(load *expr.Payload, p netip.Prefix) []expr.Any {
	addr := p.Masked().Addr().AsSlice()
	if p.IsSingleIP() {
		return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: load.DestRegister, Data: addr}}
	}
	mask := make([]byte, len(addr))
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return []expr.Any{load,
		&expr.Bitwise{SourceRegister: load.DestRegister, DestRegister: load.DestRegister, Len: uint32(len(addr)), Mask: mask, Xor: make([]byte, len(addr))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: load.DestRegister, Data: addr}}
}

// loadKey loads the key parts into consecutive registers and returns the
// expressions and the first register.
func loadKey(key []enforcer.KeyPart) ([]expr.Any, uint32) {
	if len(key) == 1 {
		return loadPart(key[0], reg1), reg1
	}
	var out []expr.Any
	reg := uint32(reg32_0)
	for _, k := range key {
		out = append(out, loadPart(k, reg)...)
		reg += (partLen(k) + 3) / 4
	}
	return out, reg32_0
}

func partLen(k enforcer.KeyPart) uint32 {
	switch k {
	case enforcer.KeyIifname, enforcer.KeyIP6Saddr, enforcer.KeyIP6Daddr, enforcer.KeyNDTarget:
		return 16
	case enforcer.KeyL4Proto:
		return 1
	case enforcer.KeyEtherSaddr:
		return 6
	case enforcer.KeyTHDport:
		return 2
	}
	return 4 // marks, IPv4
}

func loadPart(k enforcer.KeyPart, reg uint32) []expr.Any {
	switch k {
	case enforcer.KeyIifname:
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg}}
	case enforcer.KeyMarkZone:
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyMARK, Register: reg}, zoneMask(reg)}
	case enforcer.KeyIPSaddr:
		return []expr.Any{network(12, 4, reg)}
	case enforcer.KeyIPDaddr:
		return []expr.Any{network(16, 4, reg)}
	case enforcer.KeyIP6Saddr:
		return []expr.Any{network(8, 16, reg)}
	case enforcer.KeyIP6Daddr:
		return []expr.Any{network(24, 16, reg)}
	case enforcer.KeyARPSaddr:
		return []expr.Any{network(14, 4, reg)}
	case enforcer.KeyL4Proto:
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg}}
	case enforcer.KeyTHDport:
		return []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}}
	case enforcer.KeyCtMark:
		return []expr.Any{&expr.Ct{Key: expr.CtKeyMARK, Register: reg}}
	case enforcer.KeyNDTarget:
		return []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 8, Len: 16}}
	case enforcer.KeyEtherSaddr:
		return []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6}}
	}
	panic(fmt.Sprintf("unknown key part %d", k))
}
