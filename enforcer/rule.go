package enforcer

import (
	"fmt"
	"strings"
)

// Rule is one nftables rule: all Matches must hold, then the statements run
// in order: SetMark, Log (rate limited), Counter, Verdict.
type Rule struct {
	Matches []Match
	// SetMark writes a map lookup's result into the packet or conntrack mark.
	SetMark *SetMark
	Log     *Log
	Counter bool
	Verdict Verdict
	Comment string
}

// SetMark is "meta mark set iifname . ether saddr map @port_zone" or "ct
// mark set ip daddr map @zone_of4": Key is looked up in Map and the value
// is stored.
type SetMark struct {
	Ct  bool // conntrack mark (else packet mark)
	Key []KeyPart
	Map string
}

func (s *SetMark) String() string {
	target := "meta mark"
	if s.Ct {
		target = "ct mark"
	}
	parts := make([]string, len(s.Key))
	for i, k := range s.Key {
		parts[i] = k.String()
	}
	return fmt.Sprintf("%s set %s map @%s", target, strings.Join(parts, " . "), s.Map)
}

// Log is an NFLOG statement with a rate limit (per rule).
type Log struct {
	Prefix      string
	Group       uint16
	RatePerSec  uint32
	BurstPacket uint32
}

// VerdictKind is what a rule does when it matches.
type VerdictKind int

const (
	VerdictNone VerdictKind = iota // continue with the next rule
	VerdictAccept
	VerdictDrop
	VerdictGoto
)

// Verdict is the rule's final statement.
type Verdict struct {
	Kind  VerdictKind
	Chain string // VerdictGoto
}

func (v Verdict) String() string {
	switch v.Kind {
	case VerdictAccept:
		return "accept"
	case VerdictDrop:
		return "drop"
	case VerdictGoto:
		return "goto " + v.Chain
	}
	return ""
}

// String renders the rule in nft syntax.
func (r *Rule) String() string {
	var parts []string
	for _, m := range r.Matches {
		parts = append(parts, m.String())
	}
	if r.SetMark != nil {
		parts = append(parts, r.SetMark.String())
	}
	if r.Log != nil {
		parts = append(parts, fmt.Sprintf("limit rate %d/second burst %d packets log prefix %q group %d",
			r.Log.RatePerSec, r.Log.BurstPacket, r.Log.Prefix, r.Log.Group))
	}
	if r.Counter {
		parts = append(parts, "counter")
	}
	if v := r.Verdict.String(); v != "" {
		parts = append(parts, v)
	}
	if r.Comment != "" {
		parts = append(parts, fmt.Sprintf("comment %q", r.Comment))
	}
	return strings.Join(parts, " ")
}
