// Command zwbench measures zonewall side by side with its baselines: compile
// and apply against a linear nft ruleset, the packet path against no ruleset
// and a linear ruleset, and the daemon against a real Docker daemon. It
// prints a table, writes results.json and draws the charts README shows.
// test/bench/run is the way to call it (as root).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		// Helper programs run inside the test namespaces.
		var err error
		switch os.Args[1] {
		case "serve":
			err = serveMain(os.Args[2:])
		case "load":
			err = loadMain(os.Args[2:])
		case "probe":
			err = probeMain(os.Args[2:])
		case "path-ruleset":
			err = printPathRuleset(os.Args[2:])
		default:
			goto bench
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "zwbench:", err)
			os.Exit(1)
		}
		return
	}
bench:
	if err := benchMain(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "zwbench:", err)
		os.Exit(1)
	}
}

type options struct {
	quick     bool
	out       string
	only      string
	zonewall  string
	chart     bool
	verbosity string
	sizes     string
}

func benchMain(args []string) error {
	var o options
	fs := flag.NewFlagSet("zwbench", flag.ContinueOnError)
	fs.BoolVar(&o.quick, "quick", false, "smoke mode: small sizes, few rounds (< 2 minutes)")
	fs.StringVar(&o.out, "out", "test/bench/results", "directory for results.json and the charts")
	fs.StringVar(&o.only, "only", "apply,packet,docker", "scenarios to run (comma-separated)")
	fs.StringVar(&o.zonewall, "zonewall", "bin/zonewall", "zonewall binary for the Docker scenarios")
	fs.BoolVar(&o.chart, "chart", true, "draw the charts")
	fs.StringVar(&o.verbosity, "log-level", "info", "debug, info, warn")
	fs.StringVar(&o.sizes, "apply-sizes", "", "override the apply scenario's container counts, e.g. 10000")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.verbosity)); err != nil {
		return fmt.Errorf("log level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root (network namespaces, nftables, Docker)")
	}
	tmp, err := os.MkdirTemp("", "zwtest-b-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	// An interrupt cancels the run; each scenario's cleanups still run on
	// the way out because the scenarios return when ctx is done.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := &Report{Mode: mode(o.quick), Started: time.Now().UTC(), Machine: describeMachine()}
	want := map[string]bool{}
	for _, s := range strings.Split(o.only, ",") {
		want[strings.TrimSpace(s)] = true
	}
	if want["apply"] && ctx.Err() == nil {
		cfg := applyConfig{Sizes: []int{100, 1000, 10000}, Runs: 20}
		if o.quick {
			cfg = applyConfig{Sizes: []int{100, 1000}, Runs: 2}
		}
		if o.sizes != "" {
			cfg.Sizes = nil
			for _, f := range strings.Split(o.sizes, ",") {
				var n int
				if _, err := fmt.Sscan(f, &n); err != nil || n < 3 {
					return fmt.Errorf("--apply-sizes %q: want counts >= 3", o.sizes)
				}
				cfg.Sizes = append(cfg.Sizes, n)
			}
		}
		benchApply(ctx, rep, log, cfg, tmp)
	}
	if want["packet"] && ctx.Err() == nil {
		// Many short rounds, a multiple of the 6 variants (5 in quick
		// mode) so that each takes every place in the rotation equally
		// often: the load of other processes drifts, and per-round pairs
		// cancel it.
		cfg := packetConfig{Members: 10000, LinearRules: 1000, Rounds: 18, Duration: time.Second, Previous: true}
		if o.quick {
			cfg = packetConfig{Members: 10000, LinearRules: 1000, Rounds: 5, Duration: 300 * time.Millisecond}
		}
		benchPacket(ctx, rep, log, cfg, tmp)
	}
	if want["docker"] && ctx.Err() == nil {
		cfg := fullDockerConfig()
		if o.quick {
			cfg = quickDockerConfig()
		}
		cfg.Zonewall = o.zonewall
		benchDocker(ctx, rep, log, cfg, tmp)
	}
	if ctx.Err() != nil {
		rep.Failures = append(rep.Failures, "interrupted")
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Machine.LoadEnd = loadAvg()

	printTable(os.Stdout, rep)
	path, err := rep.write(o.out)
	if err != nil {
		return err
	}
	fmt.Println("results:", path)
	md, err := writeMarkdown(rep, o.out)
	if err != nil {
		return err
	}
	fmt.Println("table:", md)
	if o.chart {
		charts, err := drawCharts(rep, o.out)
		if err != nil {
			return err
		}
		for _, c := range charts {
			fmt.Println("chart:", filepath.Clean(c))
		}
	}
	if len(rep.Failures) > 0 {
		return fmt.Errorf("%d scenario(s) failed", len(rep.Failures))
	}
	return nil
}

func mode(quick bool) string {
	if quick {
		return "quick"
	}
	return "full"
}
