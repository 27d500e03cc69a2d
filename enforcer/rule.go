package enforcer

import (
	"fmt"
	"strings"
)

// Rule is one nftables rule: all Matches must hold, then the statements run
// in order: SetMarkFromMap, Log (rate limited), Counter, Verdict.
type Rule struct {
	Matches []Match
	// SetMarkFromMap names a map (ifname -> mark) keyed by iifname whose value
	// becomes the packet mark.
	SetMarkFromMap string
	Log            *Log
	Counter        bool
	Verdict        Verdict
	Comment        string
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
	if r.SetMarkFromMap != "" {
		parts = append(parts, "meta mark set iifname map @"+r.SetMarkFromMap)
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
