package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/zonewall/zonewall/enforcer/state"
	"github.com/zonewall/zonewall/zones"
	"github.com/zonewall/zonewall/zones/learn"
	"github.com/zonewall/zonewall/zones/policytest"
)

// Names of the files learn writes into --out.
const (
	learnedZoneFile = "learned.yaml"
	learnedTestFile = "tests/learned-test.yaml"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var since time.Duration
		var out string
		var extend bool
		cmd := &cobra.Command{
			Use:   "learn [--since DUR] [--out DIR] [--extend]",
			Short: "Propose zone files and policy tests from the connections the daemon observed",
			Long: "Reads what the running daemon observed (in audit mode every connection opened by or to a\n" +
				"container; in enforce mode the drops) and proposes zones (compose services, else images),\n" +
				"one flow per observed (from, to, proto/port) and a policy test file. Without --out the zone\n" +
				"file goes to stdout; with --out DIR, DIR/" + learnedZoneFile + " and DIR/" + learnedTestFile + " are written.\n" +
				"--extend proposes only what the policy in zones_dir does not allow yet.\n" +
				"The proposal is checked (zonewall check and zonewall test) before it is shown.",
			Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if since < 0 {
					return &usageError{errors.New("--since must not be negative")}
				}
				cfg := a.config()
				o, err := daemonClient(a).Observations(cmd.Context(), since)
				if err != nil {
					return daemonError(err)
				}
				var current *zones.Policy
				if extend {
					if current, err = loadPolicy(cfg.ZonesDir, cmd.ErrOrStderr()); err != nil {
						return err
					}
				}
				res, err := learn.Generate(o.Items, learn.Options{Extend: current})
				if errors.Is(err, learn.ErrNothingObserved) {
					msg := "zonewall: no connections observed"
					if since > 0 {
						msg += " in the last " + since.String()
					}
					return &exitError{code: exitFailure, msg: fmt.Sprintf("%s (daemon mode %s, observing: %s); run the daemon in audit mode (settings: {mode: audit}) while the application works, then try again",
						msg, orNone(o.Mode), orNone(o.Observing))}
				}
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: " + err.Error()}
				}
				stderr := cmd.ErrOrStderr()
				if extend && res.Flows == 0 {
					fmt.Fprintf(stderr, "nothing to add: the policy in %s allows all %d observed connections\n", cfg.ZonesDir, len(o.Items))
					return nil
				}
				if err := selfCheck(res, current, cfg.ZonesDir); err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: the proposal does not pass its own checks (a bug): " + err.Error()}
				}
				summary := fmt.Sprintf("learned from %d observations: %d zones, %d flows; %d allow and %d deny expectations (checked: they pass zonewall check and zonewall test)",
					len(o.Items), res.Zones, res.Flows, res.Allows, res.Denies)
				if o.Stats.Evictions > 0 {
					summary += fmt.Sprintf("\nnote: %d older observations were evicted (at most %d are kept)", o.Stats.Evictions, o.Stats.Cap)
				}
				if out == "" {
					if _, err := cmd.OutOrStdout().Write(res.ZoneFile); err != nil {
						return err
					}
					fmt.Fprintf(stderr, "%s\n(use --out DIR to also write the policy tests)\n", summary)
					return nil
				}
				if err := writeLearned(out, res); err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: " + err.Error()}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\nwrote %s\nwrote %s\n", summary, filepath.Join(out, learnedZoneFile), filepath.Join(out, learnedTestFile))
				return nil
			},
		}
		f := cmd.Flags()
		f.DurationVar(&since, "since", 0, "only connections seen in this last span, e.g. 24h (default: everything kept)")
		f.StringVar(&out, "out", "", "directory to write "+learnedZoneFile+" and "+learnedTestFile+" into (default: the zone file to stdout)")
		f.BoolVar(&extend, "extend", false, "propose only what the policy in zones_dir does not allow yet")
		return cmd
	})
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// selfCheck loads the proposal the way check and test will (with the
// current zone files when extending) and runs its policy tests.
func selfCheck(res learn.Result, current *zones.Policy, zonesDir string) error {
	dir, err := os.MkdirTemp("", "zonewall-learn-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if current != nil {
		files, err := state.ReadPolicyDir(zonesDir)
		if err != nil {
			return err
		}
		if err := files.WriteTo(dir); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "zz-"+learnedZoneFile), res.ZoneFile, 0o600); err != nil {
		return err
	}
	p, err := zones.Load(dir)
	if err != nil {
		return err
	}
	exps, err := policytest.Parse(learnedTestFile, res.TestFile, p)
	if err != nil {
		return err
	}
	for _, r := range policytest.Run(p, exps) {
		if !r.Pass() {
			return fmt.Errorf("%s: %s", r.Text, r.Decision.Reason)
		}
	}
	return nil
}

func writeLearned(out string, res learn.Result) error {
	for name, data := range map[string][]byte{learnedZoneFile: res.ZoneFile, learnedTestFile: res.TestFile} {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
