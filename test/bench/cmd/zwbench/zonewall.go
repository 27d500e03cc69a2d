package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/nft"
	"github.com/zonewall/zonewall/zones"
)

// The slice of zonewall the in-process scenarios drive: the pure compile
// step and the netlink applier, bound to a throwaway namespace.

// zwCompiled is a compiled ruleset with the counts the tables show.
type zwCompiled struct {
	rs              *enforcer.Ruleset
	rep             enforcer.Report
	Rules, Elements int
}

// zwCompile compiles as the daemon does: with the membership cache it keeps
// between reconciles (nil: a cold compile, as at daemon start).
func zwCompile(p *zones.Policy, inv enforcer.Inventory, cache *enforcer.Cache) (zwCompiled, error) {
	rs, rep := enforcer.Compile(p, inv, enforcer.Options{NflogGroup: 7001, Cache: cache})
	return zwCompiled{rs: rs, rep: rep, Rules: rs.RuleCount(), Elements: rs.ElementCount()}, nil
}

// zoned counts the containers the compile placed in a zone. It matches
// every container again (Report.Members): call it outside timed sections.
func (cr zwCompiled) zoned() int {
	n := 0
	for _, z := range cr.rep.Members() {
		switch z {
		case enforcer.ClassUnzoned, enforcer.ClassConflict, enforcer.ClassHostNetwork, enforcer.ClassDefaultBridge:
		default:
			n++
		}
	}
	return n
}

// zwCheckZoned fails when the compile did not place every container in a
// zone: the figures would then measure a different ruleset than intended.
func zwCheckZoned(cr zwCompiled, inv enforcer.Inventory) error {
	if zoned := cr.zoned(); zoned != len(inv.Containers) {
		return fmt.Errorf("compile placed %d of %d synthetic containers in zones", zoned, len(inv.Containers))
	}
	return nil
}

// zwApplier is an enforcer/nft applier bound to one namespace.
type zwApplier interface {
	Apply(zwCompiled) (full bool, err error)
	Cleanup() error
	Close() error
}

type nftApplier struct{ a *nft.Applier }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func zwNewApplier(nsFd int) (zwApplier, error) {
	a, err := nft.New(nft.WithNetNS(nsFd), nft.WithLogger(quiet))
	if err != nil {
		return nil, fmt.Errorf("zonewall applier: %w", err)
	}
	return nftApplier{a}, nil
}

func (n nftApplier) Apply(cr zwCompiled) (bool, error) {
	st, err := n.a.Apply(cr.rs)
	return st.Full, err
}

func (n nftApplier) Cleanup() error { return n.a.Cleanup() }
func (n nftApplier) Close() error   { return n.a.Close() }
