package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/zonewall/zonewall/enforcer"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Scenario 1: compile and apply in throwaway namespaces, zonewall against
// the linear baseline, from scratch and for one container start/stop.

// maxLinearRules bounds the baseline: the per-pair shape grows with the
// square of the containers (4,000,000 rules at 10,000), which nft cannot
// load in a benchmark's time; such sizes are reported, not run.
const maxLinearRules = 200_000

type applyConfig struct {
	Sizes []int
	Runs  int
}

func benchApply(ctx context.Context, r *Report, log *slog.Logger, cfg applyConfig, tmp string) {
	for _, n := range cfg.Sizes {
		if ctx.Err() != nil {
			return
		}
		if err := benchApplySize(ctx, r, log, cfg.Runs, n, tmp); err != nil {
			r.fail(fmt.Sprintf("apply N=%d", n), err)
		}
	}
}

// applySamples are the timings (ms) of one size.
type applySamples struct {
	zwScratch, zwStart, zwStop []float64
	// The compile part of each zonewall figure (the rest is the apply).
	zwScratchCompile, zwStartCompile, zwStopCompile []float64
	zwChangeRebuilds                                int // one-change applies that rebuilt everything
	linScratch, linStart, linStop                   []float64
}

func benchApplySize(ctx context.Context, r *Report, log *slog.Logger, runs, n int, tmp string) error {
	var c cleanups
	defer c.run(log)
	zwNs, err := newNetns(&c, "zwtest-b-apz")
	if err != nil {
		return err
	}
	linNs, err := newNetns(&c, "zwtest-b-apl")
	if err != nil {
		return err
	}
	log.Info("apply scenario", "containers", n, "runs", runs)

	zw, zwErr := newApplyZonewall(&c, zwNs, n)
	if zwErr != nil {
		r.skip(fmt.Sprintf("apply N=%d zonewall", n), zwErr.Error())
	}
	lin, linErr := newApplyLinear(linNs, n, tmp)
	if linErr != nil {
		r.skip(fmt.Sprintf("apply N=%d baseline", n), linErr.Error())
	}
	if zw == nil && lin == nil {
		return nil
	}

	var s applySamples
	// Alternate which side goes first in each round so that drift in the
	// machine's state (caches, other load) hits both equally.
	for round := 0; round < runs && ctx.Err() == nil; round++ {
		steps := []func() error{}
		if zw != nil {
			steps = append(steps, func() error { return zw.round(&s) })
		}
		if lin != nil {
			steps = append(steps, func() error { return lin.round(&s) })
		}
		if round%2 == 1 && len(steps) == 2 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
	}
	reportApply(r, n, s, zw, lin)
	return nil
}

func reportApply(r *Report, n int, s applySamples, zw *applyZonewall, lin *applyLinear) {
	info := map[string]any{"containers": n, "zones": synthZones, "flows": synthZones * 2}
	if zw != nil {
		info["zonewall_rules"] = zw.rules
		info["zonewall_elements"] = zw.elements
		info["zonewall_change_full_rebuilds"] = s.zwChangeRebuilds
	}
	info["baseline_rules"] = linearRuleCount(n)
	var note string
	if lin == nil {
		note = fmt.Sprintf("(baseline: %d rules, not loaded)", linearRuleCount(n))
	}
	figs := []struct {
		name             string
		zw, compile, lin []float64
		goal             func(median, p99 float64) *Goal
	}{
		{fmt.Sprintf("apply from scratch, %d containers", n), s.zwScratch, s.zwScratchCompile, s.linScratch, scratchGoal(n)},
		{fmt.Sprintf("one container start, %d running", n), s.zwStart, s.zwStartCompile, s.linStart, changeGoal(n)},
		{fmt.Sprintf("one container stop, %d running", n), s.zwStop, s.zwStopCompile, s.linStop, changeGoal(n)},
	}
	for _, f := range figs {
		fInfo := map[string]any{}
		for k, v := range info {
			fInfo[k] = v
		}
		if len(f.compile) > 0 {
			fInfo["zonewall_compile_ms"] = Summarize(f.compile)
		}
		fig := Figure{Scenario: "apply", Name: f.name, Unit: "ms", Better: "lower", Info: fInfo, Note: note}
		if len(f.zw) > 0 {
			fig.Zonewall = sum(Summarize(f.zw))
			if f.goal != nil {
				fig.Goal = f.goal(fig.Zonewall.Median, fig.Zonewall.P99)
			}
		}
		if len(f.lin) > 0 {
			fig.Baseline = sum(Summarize(f.lin))
			fig.BaselineName = "linear nft -f"
		}
		r.add(fig)
	}
	// The apply alone (kernel transaction, element diff for a change): the
	// compile step above recomputes everything, the apply should not.
	for _, f := range []struct {
		name           string
		total, compile []float64
	}{
		{fmt.Sprintf("  apply part only, one start, %d running", n), s.zwStart, s.zwStartCompile},
		{fmt.Sprintf("  apply part only, one stop, %d running", n), s.zwStop, s.zwStopCompile},
	} {
		if len(f.total) == 0 {
			continue
		}
		fig := Figure{Scenario: "apply", Name: f.name, Unit: "ms", Better: "lower", Info: info,
			Zonewall: sum(Summarize(minus(f.total, f.compile)))}
		if n == 1000 {
			fig.Goal = goalBelow("one change against 1,000 < 1 ms (median)", fig.Zonewall.Median, 1)
		}
		r.add(fig)
	}
}

// minus is a[i]-b[i] for paired samples.
func minus(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}

func scratchGoal(n int) func(m, p float64) *Goal {
	switch n {
	case 1000:
		return func(m, _ float64) *Goal { return goalBelow("compile+apply 1,000 < 25 ms (median)", m, 25) }
	case 10000:
		return func(m, _ float64) *Goal { return goalBelow("compile+apply 10,000 < 250 ms (median)", m, 250) }
	}
	return nil
}

func changeGoal(n int) func(m, p float64) *Goal {
	if n != 1000 {
		return nil
	}
	return func(m, _ float64) *Goal { return goalBelow("one change against 1,000 < 1 ms (median)", m, 1) }
}

// applyZonewall drives enforcer.Compile and enforcer/nft in its namespace.
type applyZonewall struct {
	ns              *netns
	nsFd            int
	n               int
	base, plusOne   zwInputs
	rules, elements int
}

func newApplyZonewall(c *cleanups, ns *netns, n int) (*applyZonewall, error) {
	f, err := ns.open()
	if err != nil {
		return nil, err
	}
	c.add("netns fd", f.Close)
	// One policy object for both inventories: the daemon's cache is keyed on it.
	policy := synthPolicy()
	z := &applyZonewall{ns: ns, nsFd: int(f.Fd()), n: n,
		base: zwInputs{policy, synthInventory(n)}, plusOne: zwInputs{policy, synthInventory(n + 1)}}
	cr, err := zwCompile(z.base.policy, z.base.inv, nil)
	if err != nil {
		return nil, err
	}
	if err := zwCheckZoned(cr, z.base.inv); err != nil {
		return nil, err
	}
	z.rules, z.elements = cr.Rules, cr.Elements
	return z, nil
}

// round measures one from-scratch apply and one start/stop against N.
func (z *applyZonewall) round(s *applySamples) error {
	app, err := zwNewApplier(z.nsFd)
	if err != nil {
		return err
	}
	defer app.Close()
	// A fresh cache per round: from scratch is a cold compile (daemon start),
	// a start/stop then finds the cache warm, as in the running daemon.
	cache := &enforcer.Cache{}
	t0 := time.Now()
	cr, err := zwCompile(z.base.policy, z.base.inv, cache)
	if err != nil {
		return err
	}
	t1 := time.Now()
	if _, err := app.Apply(cr); err != nil {
		return fmt.Errorf("zonewall apply %d: %w", z.n, err)
	}
	t2 := time.Now()
	s.zwScratch = append(s.zwScratch, ms(t2.Sub(t0)))
	s.zwScratchCompile = append(s.zwScratchCompile, ms(t1.Sub(t0)))

	for _, step := range []struct {
		in              zwInputs
		total, compiled *[]float64
	}{{z.plusOne, &s.zwStart, &s.zwStartCompile}, {z.base, &s.zwStop, &s.zwStopCompile}} {
		t0 := time.Now()
		cr, err := zwCompile(step.in.policy, step.in.inv, cache)
		if err != nil {
			return err
		}
		t1 := time.Now()
		full, err := app.Apply(cr)
		if err != nil {
			return fmt.Errorf("zonewall incremental apply %d: %w", z.n, err)
		}
		if full {
			s.zwChangeRebuilds++ // the applier fell back to a full rebuild
		}
		*step.total = append(*step.total, ms(time.Since(t0)))
		*step.compiled = append(*step.compiled, ms(t1.Sub(t0)))
	}
	if err := app.Cleanup(); err != nil {
		return fmt.Errorf("zonewall cleanup: %w", err)
	}
	return nil
}

// applyLinear drives the baseline with `nft -f` in its namespace.
type applyLinear struct {
	ns                  *netns
	full, add, del      string
	rules, changedRules int
}

func newApplyLinear(ns *netns, n int, tmp string) (*applyLinear, error) {
	if rules := linearRuleCount(n); rules > maxLinearRules {
		return nil, fmt.Errorf("the linear baseline has %d rules at %d containers (more than %d): not loaded", rules, n, maxLinearRules)
	}
	l := &applyLinear{ns: ns, full: filepath.Join(tmp, fmt.Sprintf("linear-%d.nft", n)),
		add: filepath.Join(tmp, fmt.Sprintf("linear-%d-add.nft", n)), del: filepath.Join(tmp, fmt.Sprintf("linear-%d-del.nft", n))}
	var err error
	if l.rules, err = writeLinearRuleset(l.full, n); err != nil {
		return nil, err
	}
	if l.changedRules, err = writeLinearAdd(l.add, n); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *applyLinear) round(s *applySamples) error {
	t0 := time.Now()
	if _, err := l.ns.nftFile(l.full); err != nil {
		return fmt.Errorf("baseline load: %w", err)
	}
	s.linScratch = append(s.linScratch, ms(time.Since(t0)))

	// A start adds the container's rules; the handles echoed back are what a
	// stop needs to delete them again.
	t0 = time.Now()
	out, err := l.ns.nftFile(l.add, "-e", "-a")
	if err != nil {
		return fmt.Errorf("baseline add: %w", err)
	}
	s.linStart = append(s.linStart, ms(time.Since(t0)))
	handles, err := echoedHandles(out)
	if err != nil {
		return err
	}
	if len(handles) != l.changedRules {
		return fmt.Errorf("baseline add echoed %d handles, want %d", len(handles), l.changedRules)
	}
	if _, err := writeLinearDelete(l.del, handles); err != nil {
		return err
	}
	t0 = time.Now()
	if _, err := l.ns.nftFile(l.del); err != nil {
		return fmt.Errorf("baseline delete: %w", err)
	}
	s.linStop = append(s.linStop, ms(time.Since(t0)))
	return l.ns.deleteTable("inet", linearTable)
}

// echoedHandles reads "# handle N" from `nft -e -a` output lines of added rules.
func echoedHandles(out []byte) ([]int, error) {
	var hs []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "add rule ") {
			continue
		}
		i := strings.LastIndex(line, "# handle ")
		if i < 0 {
			return nil, fmt.Errorf("no handle in %q", line)
		}
		h, err := strconv.Atoi(strings.TrimSpace(line[i+len("# handle "):]))
		if err != nil {
			return nil, fmt.Errorf("handle in %q: %w", line, err)
		}
		hs = append(hs, h)
	}
	return hs, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
