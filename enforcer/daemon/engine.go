package daemon

import (
	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

// PolicyEngine is the Engine of a real daemon: zone files through the zones
// package, compilation through CompileFunc (enforcer.Compile, adapted by the caller).
type PolicyEngine struct {
	CompileFunc func(p *zones.Policy, inv enforcer.Inventory) (Ruleset, []control.Finding)
}

var _ Engine = PolicyEngine{}

// Load reads a zone-file directory with zones.LoadDir.
func (PolicyEngine) Load(dir string) (*zones.Policy, []zones.Source, error) {
	return zones.LoadDir(dir)
}

// Parse parses zone files in memory with zones.Parse.
func (PolicyEngine) Parse(files []zones.Source) (*zones.Policy, error) {
	return zones.Parse(files)
}

// Compile calls CompileFunc.
func (e PolicyEngine) Compile(p *zones.Policy, inv enforcer.Inventory) (Ruleset, []control.Finding) {
	return e.CompileFunc(p, inv)
}

// ZoneOf is zones.Policy.ZoneOf.
func (PolicyEngine) ZoneOf(p *zones.Policy, c zones.Container) zones.Membership { return p.ZoneOf(c) }

// Decide is zones.Policy.Decide.
func (PolicyEngine) Decide(p *zones.Policy, from, to zones.Peer, proto zones.Proto, port uint16) zones.Decision {
	return p.Decide(from, to, proto, port)
}
