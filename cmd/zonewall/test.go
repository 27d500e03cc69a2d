package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/zones"
	"github.com/zonewall/zonewall/zones/policytest"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:   "test FILE... [--zones-dir DIR]",
			Short: "Check policy test expectations against the zone files (offline)",
			Long: "Each FILE holds `expect:` with items like \"web -> api tcp/8080: allow\".\n" +
				"Prints PASS or FAIL per expectation with the flow or default that decided it.",
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return &usageError{fmt.Errorf("%s needs at least one test file", cmd.CommandPath())}
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				pol, err := loadPolicy(a.config().ZonesDir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				return runPolicyTests(pol, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			},
		}
	})
}

// runPolicyTests runs every readable file; a bad file is reported and makes
// the run fail, but the other files still run.
func runPolicyTests(pol *zones.Policy, files []string, stdout, stderr io.Writer) error {
	passed, failed, badFiles := 0, 0, 0
	for _, file := range files {
		exps, err := policytest.ParseFile(file, pol)
		if err != nil {
			badFiles++
			var list zones.ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					fmt.Fprintln(stderr, e.Error())
				}
			} else {
				fmt.Fprintln(stderr, err)
			}
			continue
		}
		for _, r := range policytest.Run(pol, exps) {
			if r.Pass() {
				passed++
				fmt.Fprintf(stdout, "PASS %s: %s (%s)\n", r.Pos.FileLine(), r.Text, r.Decision.Reason)
				continue
			}
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %s: got %s: %s\n", r.Pos.FileLine(), r.Text, verdict(r.Decision.Allow), r.Decision.Reason)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	switch {
	case badFiles > 0:
		return &exitError{code: exitFailure, msg: plural(badFiles, "invalid test file")}
	case failed > 0:
		return &exitError{code: exitFailure}
	}
	return nil
}

func verdict(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}
