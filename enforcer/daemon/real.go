package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/nflog"
	"github.com/zonewall/zonewall/enforcer/nft"
	"github.com/zonewall/zonewall/zones"
)

// This file adapts the real packages (enforcer, enforcer/nft, enforcer/nflog,
// Docker's client) to the daemon's narrow interfaces.

// compiledRuleset is an enforcer.Ruleset with the policy it came from, so
// that drops can be attributed to the default or flow behind a log prefix.
type compiledRuleset struct {
	*enforcer.Ruleset
	policy *zones.Policy
}

// DropOrigin names what a log prefix stands for.
func (r compiledRuleset) DropOrigin(prefix string) string {
	o, ok := r.LogPrefixes[prefix]
	switch {
	case !ok:
		return ""
	case o.Flow >= 0 && o.Flow < len(r.policy.Flows):
		f := r.policy.Flows[o.Flow]
		return fmt.Sprintf("%s (%s)", f.Label(), f.Pos.FileLine())
	}
	return o.Default
}

// EqualRuleset compares the kernel state only: a ruleset compiled from a
// newer but equivalent policy object needs no transaction.
func (r compiledRuleset) EqualRuleset(o Ruleset) bool {
	switch o := o.(type) {
	case compiledRuleset:
		return r.Ruleset.Equal(o.Ruleset)
	case *enforcer.Ruleset:
		return r.Ruleset.Equal(o)
	}
	return false
}

// CompileFunc returns a PolicyEngine compile step running enforcer.Compile.
// Unless opts.Cache is set, it gives its compiles one membership cache, so
// a container start or stop costs one zones.ZoneOf, not one per container.
func CompileFunc(opts enforcer.Options) func(*zones.Policy, enforcer.Inventory) (Ruleset, []control.Finding) {
	if opts.Cache == nil {
		opts.Cache = &enforcer.Cache{}
	}
	return func(p *zones.Policy, inv enforcer.Inventory) (Ruleset, []control.Finding) {
		rs, rep := enforcer.Compile(p, inv, opts)
		return compiledRuleset{Ruleset: rs, policy: p}, Findings(rep)
	}
}

// Findings converts a compile report to the control socket's findings.
func Findings(rep enforcer.Report) []control.Finding {
	out := make([]control.Finding, 0, len(rep.Findings))
	for _, f := range rep.Findings {
		out = append(out, control.Finding{Kind: string(f.Kind), Container: f.ContainerName, ContainerID: shortID(f.ContainerID), Detail: f.Detail})
	}
	return out
}

// NFTKernel adapts an *nft.Applier.
type NFTKernel struct{ A *nft.Applier }

// Apply installs the ruleset. The Applier decides full vs. diff itself: it
// rebuilds after a failure, after drift and when the static part changed.
func (k NFTKernel) Apply(rs Ruleset, _ bool) (ApplyStats, error) {
	var er *enforcer.Ruleset
	switch r := rs.(type) {
	case compiledRuleset:
		er = r.Ruleset
	case *enforcer.Ruleset:
		er = r
	default:
		return ApplyStats{}, fmt.Errorf("nft kernel: unexpected ruleset type %T", rs)
	}
	st, err := k.A.Apply(er)
	return ApplyStats{Full: st.Full, Counts: map[string]int{
		"rules": st.Rules, "elements": st.Elements, "added": st.Added, "removed": st.Removed,
	}}, err
}

// Verify reports drift of our tables.
func (k NFTKernel) Verify() (error, error) {
	drift, err := k.A.Verify()
	if drift != nil {
		return drift, err
	}
	return nil, err
}

// BridgeNetfilter runs nft.CheckBridgeNetfilter, which turns the sysctls on
// when they are off.
func BridgeNetfilter(log *slog.Logger) func() (string, error) {
	return func() (string, error) {
		ok, err := nft.CheckBridgeNetfilter()
		switch {
		case err != nil:
			return "", err
		case !ok:
			log.Warn("br_netfilter sysctls were off; zonewall turned them on")
			return "on (turned on by zonewall)", nil
		}
		return "on", nil
	}
}

// DockerStopper stops containers through the Docker API.
type DockerStopper struct{ CLI *client.Client }

// StopContainer stops a container with Docker's default grace period.
func (s DockerStopper) StopContainer(ctx context.Context, id string) error {
	if err := s.CLI.ContainerStop(ctx, id, container.StopOptions{}); err != nil {
		return fmt.Errorf("docker stop %s: %w", shortID(id), err)
	}
	return nil
}

// ReadDrops feeds every record of an NFLOG reader to the daemon until ctx
// ends or the reader is closed.
func ReadDrops(ctx context.Context, r *nflog.Reader, d *Daemon) error {
	for {
		rec, err := r.Read(ctx)
		switch {
		case ctx.Err() != nil || errors.Is(err, nflog.ErrClosed):
			return nil
		case err != nil:
			return fmt.Errorf("read drops: %w", err)
		}
		in, out := rec.InIface, rec.OutIface
		if rec.PhysInIface != "" {
			in = rec.PhysInIface // the container's veth says more than its bridge
		}
		if rec.PhysOutIface != "" {
			out = rec.PhysOutIface
		}
		d.RecordDrop(DropPacket{
			Time: rec.Time, Prefix: rec.Prefix, Proto: rec.Proto,
			Src: rec.Src, Dst: rec.Dst, SrcPort: rec.SrcPort, DstPort: rec.DstPort,
			InIface: in, OutIface: out,
		})
	}
}
