package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Scenario 2: the packet path with no ruleset, with conntrack only (what
// every Docker host pays, see conntrackonly.go), with Docker's own iptables
// rules, with zonewall holding N members (and with zonewall's previous
// bridge fast path, see pathvariants.go), and with the linear baseline of
// 1,000 rules, in alternating rounds.

type packetConfig struct {
	Members     int           // zonewall set members (containers)
	LinearRules int           // rules of the linear baseline
	Rounds      int           // rounds; each runs every variant once
	Duration    time.Duration // per measurement
	Previous    bool          // also measure zonewall's previous bridge fast path
}

// pathVariant is one ruleset the path is measured under.
type pathVariant struct {
	name     string
	install  func() error
	remove   func() error
	filtered bool      // the denied port must be unreachable
	tracks   bool      // connection tracking must be in the path
	conn     []float64 // one per round, in round order
	bulk     []float64
}

// pathVariants are the variants of one run, by role.
type pathVariants struct {
	none, conntrack, linear, zonewall *pathVariant // zonewall nil: skipped
	docker, previous                  *pathVariant // nil: not measured
	// audit is zonewall in audit mode with the daemon's observation
	// recorder reading the kernel's new-connection events, auditQuiet the
	// same ruleset without it (nil: skipped).
	audit, auditQuiet *pathVariant
}

func (p pathVariants) all() []*pathVariant {
	vs := []*pathVariant{p.none, p.conntrack, p.linear}
	for _, v := range []*pathVariant{p.docker, p.zonewall, p.previous} {
		if v != nil {
			vs = append(vs, v)
		}
	}
	if p.audit != nil {
		vs = append(vs, p.audit, p.auditQuiet)
	}
	return vs
}

func benchPacket(ctx context.Context, r *Report, log *slog.Logger, cfg packetConfig, tmp string) {
	if err := benchPacketPath(ctx, r, log, cfg, tmp); err != nil {
		r.fail("packet path", err)
	}
}

func benchPacketPath(ctx context.Context, r *Report, log *slog.Logger, cfg packetConfig, tmp string) error {
	var c cleanups
	defer c.run(log)
	topo, err := newTopology(&c)
	if err != nil {
		return err
	}
	for _, port := range []int{allowedPort, deniedPort} {
		if err := topo.startServer(&c, log, port); err != nil {
			return err
		}
	}
	pv := pathVariants{none: &pathVariant{name: "no ruleset", install: noop, remove: noop}}
	if pv.conntrack, err = conntrackVariant(topo, tmp); err != nil {
		return err
	}

	linPath := filepath.Join(tmp, "path-linear.nft")
	if err := writePathLinear(linPath, cfg.LinearRules); err != nil {
		return err
	}
	pv.linear = &pathVariant{name: fmt.Sprintf("linear %d rules", cfg.LinearRules), filtered: true, tracks: true,
		install: func() error { _, err := topo.router.nftFile(linPath); return err },
		remove:  func() error { return topo.router.deleteTable("inet", linearTable) }}

	if _, err := exec.LookPath("iptables-restore"); err != nil {
		r.skip("packet path "+dockerIptablesName, "iptables-restore not installed")
	} else if pv.docker, err = dockerIptablesVariant(topo, topo.inventory(cfg.Members), tmp); err != nil {
		return err
	}
	var zwInfo map[string]any
	if zv, info, err := zonewallPathVariant(topo, cfg.Members); err != nil {
		r.skip("packet path zonewall", err.Error())
	} else {
		pv.zonewall = zv
		zwInfo = info
		if cfg.Previous {
			inv := topo.inventory(cfg.Members)
			cr, err := zwCompile(synthPolicy(), inv, nil)
			if err != nil {
				return err
			}
			if pv.previous, err = previousShapeVariant(topo, cr, inv, tmp); err != nil {
				return err
			}
		}
		av, err := auditPathVariant(topo, cfg.Members, true)
		if err == nil {
			pv.auditQuiet, err = auditPathVariant(topo, cfg.Members, false)
		}
		if err != nil {
			r.skip("packet path zonewall audit", err.Error())
		} else {
			pv.audit = av
		}
	}
	variants := pv.all()

	log.Info("packet path scenario", "rounds", cfg.Rounds, "duration", cfg.Duration, "variants", len(variants))
	for round := 0; round < cfg.Rounds && ctx.Err() == nil; round++ {
		for i := range variants {
			v := variants[(i+round)%len(variants)] // rotate the order every round
			if err := measureVariant(topo, v, cfg.Duration); err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
		}
	}
	reportPacket(r, cfg, pv, zwInfo)
	return nil
}

func noop() error { return nil }

func zonewallPathVariant(topo *topology, members int) (*pathVariant, map[string]any, error) {
	inv := topo.inventory(members)
	cr, err := zwCompile(synthPolicy(), inv, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := zwCheckZoned(cr, inv); err != nil {
		return nil, nil, err
	}
	var app zwApplier
	v := &pathVariant{name: fmt.Sprintf("zonewall %d members", members), filtered: true, tracks: true}
	v.install = func() error {
		a, err := zwNewApplier(int(topo.routerFd.Fd()))
		if err != nil {
			return err
		}
		app = a
		_, err = app.Apply(cr)
		return err
	}
	v.remove = func() error {
		if app == nil {
			return nil
		}
		defer func() { app.Close(); app = nil }()
		return app.Cleanup()
	}
	return v, map[string]any{"zonewall_rules": cr.Rules, "zonewall_elements": cr.Elements, "members": members}, nil
}

// measureVariant installs the ruleset, proves it is in the path, measures
// connection rate and throughput, and removes it again.
func measureVariant(topo *topology, v *pathVariant, d time.Duration) error {
	if err := v.install(); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer v.remove()
	if err := probe(topo, allowedPort); err != nil {
		return fmt.Errorf("allowed port unreachable: %w", err)
	}
	if err := probe(topo, deniedPort); v.filtered && err == nil {
		return fmt.Errorf("port %d (no flow) is reachable: the ruleset is not in the path", deniedPort)
	} else if !v.filtered && err != nil {
		return fmt.Errorf("port %d unreachable with no ruleset: %w", deniedPort, err)
	}
	conn, err := load(topo, "conn", d)
	if err != nil {
		return err
	}
	v.conn = append(v.conn, float64(conn.Ops)/conn.Seconds)
	if v.tracks {
		// The thousands of connections just closed stay in the table for
		// a second (the shortened timeouts), if conntrack is on at all.
		if n, err := trackedConnections(topo.router); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("no conntrack entry after %d connections: connection tracking is not in the path", conn.Ops)
		}
	}
	bulk, err := load(topo, "bulk", d)
	if err != nil {
		return err
	}
	v.bulk = append(v.bulk, float64(bulk.Bytes)/bulk.Seconds/1e6)
	return v.remove()
}

func probe(topo *topology, port int) error {
	self, _ := os.Executable()
	return topo.client.run(self, "probe", "-addr", fmt.Sprintf("%s:%d", serverAddr, port), "-timeout", "500ms")
}

func load(topo *topology, mode string, d time.Duration) (loadResult, error) {
	self, _ := os.Executable()
	out, err := topo.client.output(self, "load", "-mode", mode, "-duration", d.String(),
		"-addr", fmt.Sprintf("%s:%d", serverAddr, allowedPort))
	if err != nil {
		return loadResult{}, fmt.Errorf("load %s: %w", mode, err)
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		return loadResult{}, fmt.Errorf("load %s output %q: %w", mode, out, err)
	}
	if res.Seconds <= 0 || (res.Ops == 0 && res.Bytes == 0) {
		return loadResult{}, fmt.Errorf("load %s moved nothing: %+v", mode, res)
	}
	return res, nil
}

// writePathLinear writes the linear baseline of the path: rules-1 rules for
// other synthetic pairs, then the rule that allows the client, last, where
// a rule appended for a newly started container lands in this shape.
func writePathLinear(path string, rules int) error {
	all := filepath.Join(filepath.Dir(path), "path-linear-src.nft")
	if _, err := writeLinearRuleset(all, 1000); err != nil { // 40,000 pairs to pick from
		return err
	}
	src, err := os.ReadFile(all)
	if err != nil {
		return err
	}
	lines := splitLines(string(src))
	var body []string
	for _, l := range lines {
		if len(body) == rules-1 {
			break
		}
		if len(l) > 9 && l[:9] == "add rule " {
			body = append(body, l)
		}
	}
	text := linearHeader()
	for _, l := range body {
		text += l + "\n"
	}
	text += linearRule(clientAddr.String(), serverAddr.String(), allowedPort)
	return os.WriteFile(path, []byte(text), 0o644)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// reportPacket adds, per metric, zonewall against each baseline: no
// ruleset (the goal), conntrack only (what any stateful host pays), Docker's
// own iptables rules (what a Docker host pays today), the linear ruleset and
// zonewall's previous fast path; and that previous shape against no
// ruleset and conntrack only. Each note gives the median of the per-round
// ratios, which is less noisy than the ratio of medians in the ratio
// column, and their spread.
func reportPacket(r *Report, cfg packetConfig, pv pathVariants, zwInfo map[string]any) {
	info := map[string]any{"rounds": cfg.Rounds, "seconds_each": cfg.Duration.Seconds(), "linear_rules": cfg.LinearRules}
	for k, v := range zwInfo {
		info[k] = v
	}
	for _, m := range []struct {
		name, unit string
		pick       func(*pathVariant) []float64
	}{
		{"new TCP connections/s", "conn/s", func(v *pathVariant) []float64 { return v.conn }},
		{"bulk TCP throughput", "MB/s", func(v *pathVariant) []float64 { return v.bulk }},
	} {
		if pv.audit != nil && pv.zonewall != nil {
			for _, base := range []*pathVariant{pv.zonewall, pv.auditQuiet} {
				r.add(Figure{Scenario: "packet", Name: m.name + ": audit observing vs " + base.name, Unit: m.unit, Better: "higher", Info: info,
					Zonewall: sum(Summarize(m.pick(pv.audit))), Baseline: sum(Summarize(m.pick(base))), BaselineName: base.name,
					Note: "zonewall = " + pv.audit.name + " " + pairedNote(m.pick(pv.audit), m.pick(base))})
			}
		}
		for _, base := range []*pathVariant{pv.none, pv.conntrack, pv.docker, pv.linear, pv.previous} {
			if base == nil {
				continue
			}
			fig := Figure{Scenario: "packet", Name: m.name + " vs " + base.name, Unit: m.unit, Better: "higher", Info: info,
				Baseline: sum(Summarize(m.pick(base))), BaselineName: base.name}
			if pv.zonewall != nil {
				fig.Zonewall = sum(Summarize(m.pick(pv.zonewall)))
				fig.Note = pairedNote(m.pick(pv.zonewall), m.pick(base))
				switch base {
				case pv.none:
					fig.Goal = goalAtLeast(">= 95 % of no ruleset (median)", Ratio(fig.Zonewall.Median, fig.Baseline.Median), 0.95)
				case pv.conntrack:
					fig.Goal = goalAtLeast(">= 98 % of conntrack only (median)", Ratio(fig.Zonewall.Median, fig.Baseline.Median), 0.98)
				}
			} else if base == pv.none {
				// Without zonewall, still show the linear baseline against the bare path.
				fig.Name = m.name + ": " + pv.linear.name + " vs " + pv.none.name
				fig.Note = "zonewall skipped; " + pv.linear.name + ": " + num(Summarize(m.pick(pv.linear)).Median) + " " + m.unit
			}
			r.add(fig)
		}
		if pv.previous == nil {
			continue
		}
		for _, base := range []*pathVariant{pv.none, pv.conntrack} {
			r.add(Figure{Scenario: "packet", Name: m.name + ": " + pv.previous.name + " vs " + base.name, Unit: m.unit, Better: "higher", Info: info,
				Zonewall: sum(Summarize(m.pick(pv.previous))), Baseline: sum(Summarize(m.pick(base))), BaselineName: base.name,
				Note: pairedNote(m.pick(pv.previous), m.pick(base))})
		}
	}
}

func pairedNote(a, b []float64) string {
	lo, hi := pairedSpread(a, b)
	return fmt.Sprintf("(per-round ratios: median %.0f %%, middle half %.0f-%.0f %%)", 100*pairedRatio(a, b), 100*lo, 100*hi)
}

// printPathRuleset prints, in nft syntax, the zonewall ruleset of the packet
// path with n members (for debugging a failed probe).
func printPathRuleset(args []string) error {
	n := 10
	if len(args) > 0 {
		if _, err := fmt.Sscan(args[0], &n); err != nil {
			return fmt.Errorf("members: %w", err)
		}
	}
	cr, err := zwCompile(synthPolicy(), (&topology{}).inventory(n), nil)
	if err != nil {
		return err
	}
	fmt.Print(cr.rs.String())
	return nil
}
