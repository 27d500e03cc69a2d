package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/zonewall/zonewall/zones"
	"github.com/zonewall/zonewall/zones/policytest"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var outFmt *output
		cmd := &cobra.Command{
			Use:   "test FILE|DIR... [--zones-dir DIR]",
			Short: "Check policy test expectations against the zone files (offline)",
			Long: "Each FILE holds `expect:` with items like \"web -> api tcp/8080: allow\"; a DIR\n" +
				"stands for every *.yaml and *.yml file in it. The zone files come from --zones-dir.\n" +
				"Prints PASS or FAIL per expectation with the flow or default that decided it;\n" +
				"exit 1 when one fails or a test file is invalid.",
			Example: "  zonewall test --zones-dir zones.d tests/\n  zonewall test --zones-dir zones.d tests/shop.yaml -o json",
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) == 0 {
					return &usageError{fmt.Errorf("%s needs at least one test file or directory of test files, e.g. zonewall test --zones-dir zones.d tests/", cmd.CommandPath())}
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				zonesDir := a.config().ZonesDir
				files, err := testFiles(args)
				if err != nil {
					return err
				}
				pol, err := loadPolicy(zonesDir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				rep := runPolicyTests(pol, files)
				if outFmt.JSON() {
					if err := writeJSONOut(cmd.OutOrStdout(), rep); err != nil {
						return err
					}
				} else {
					printTestReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), rep)
				}
				switch {
				case rep.InvalidFiles > 0 && !outFmt.JSON():
					return &exitError{code: exitFailure, msg: plural(rep.InvalidFiles, "invalid test file")}
				case rep.InvalidFiles > 0 || rep.Failed > 0:
					return &exitError{code: exitFailure}
				}
				return nil
			},
		}
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// testFiles expands directories into their *.yaml and *.yml files, and
// catches the common mix-up of passing zone files where test files belong.
func testFiles(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil || !fi.IsDir() {
			if err == nil && looksLikeZoneFile(arg) {
				return nil, zoneFileMixUp(arg, filepath.Dir(arg))
			}
			files = append(files, arg) // a missing file is reported with the others
			continue
		}
		entries, err := os.ReadDir(arg)
		if err != nil {
			return nil, &exitError{code: exitFailure, msg: fmt.Sprintf("%s: cannot read directory: %v", arg, err)}
		}
		var found, zoneFiles []string
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml") {
				continue
			}
			path := filepath.Join(arg, e.Name())
			if looksLikeZoneFile(path) {
				zoneFiles = append(zoneFiles, path)
				continue
			}
			found = append(found, path)
		}
		if len(found) == 0 && len(zoneFiles) > 0 {
			return nil, zoneFileMixUp(arg, arg)
		}
		if len(found) == 0 {
			return nil, &exitError{code: exitFailure, msg: fmt.Sprintf("%s: no *.yaml or *.yml test files in this directory", arg)}
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, nil
}

// zoneFileMixUp says exactly what to run instead.
func zoneFileMixUp(arg, dir string) error {
	return &exitError{code: exitFailure, msg: fmt.Sprintf(
		"%s holds zone files (zones:, flows:), not policy tests (expect:).\n"+
			"Policy tests are files of their own, e.g. tests/shop.yaml with\n"+
			"  expect:\n    - \"web -> api tcp/8080: allow\"\n"+
			"and run against the zone files with: zonewall test --zones-dir %s tests/\n"+
			"(to validate the zone files themselves: zonewall check %s)",
		arg, dir, dir)}
}

// looksLikeZoneFile reports a YAML mapping with zone-file keys and no
// "expect"; anything else is left to the test-file parser and its errors.
func looksLikeZoneFile(path string) bool {
	// Read as test files are read: a FIFO is never opened, size bounded.
	data, err := zones.ReadRegularFile(path, policytest.MaxFileSize)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return false
	}
	if _, ok := top["expect"]; ok {
		return false
	}
	_, z := top["zones"]
	_, fl := top["flows"]
	_, s := top["settings"]
	return z || fl || s
}

// testReport is the outcome of a test run; also its JSON form.
type testReport struct {
	Passed       int          `json:"passed"`
	Failed       int          `json:"failed"`
	InvalidFiles int          `json:"invalid_files"`
	Results      []testResult `json:"results"`
	Errors       []checkError `json:"errors"` // of invalid test files
}

// testResult is one expectation and the verdict the policy gives it.
type testResult struct {
	Pass   bool   `json:"pass"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Text   string `json:"expectation"`
	Want   string `json:"want"`
	Got    string `json:"got"`
	Reason string `json:"reason"`         // the flow (file:line) or default that decided
	Flow   string `json:"flow,omitempty"` // the deciding flow's label, if a flow decided
	pos    string
}

// runPolicyTests runs every readable file; a bad file is reported and makes
// the run fail, but the other files still run.
func runPolicyTests(pol *zones.Policy, files []string) testReport {
	rep := testReport{Results: []testResult{}, Errors: []checkError{}}
	for _, file := range files {
		exps, err := policytest.ParseFile(file, pol)
		if err != nil {
			rep.InvalidFiles++
			rep.Errors = append(rep.Errors, errorEntries(err)...)
			continue
		}
		for _, r := range policytest.Run(pol, exps) {
			tr := testResult{Pass: r.Pass(), File: r.Pos.File, Line: r.Pos.Line, Text: r.Text,
				Want: verdict(r.Allow), Got: verdict(r.Decision.Allow), Reason: r.Decision.Reason, pos: r.Pos.FileLine()}
			if r.Decision.Flow != nil {
				tr.Flow = r.Decision.Flow.Label()
			}
			if tr.Pass {
				rep.Passed++
			} else {
				rep.Failed++
			}
			rep.Results = append(rep.Results, tr)
		}
	}
	return rep
}

func printTestReport(stdout, stderr io.Writer, rep testReport) {
	for _, e := range rep.Errors {
		fmt.Fprintln(stderr, e.Text)
	}
	for _, r := range rep.Results {
		if r.Pass {
			fmt.Fprintf(stdout, "PASS %s: %s (%s)\n", r.pos, r.Text, r.Reason)
			continue
		}
		fmt.Fprintf(stdout, "FAIL %s: %s: got %s: %s\n", r.pos, r.Text, r.Got, r.Reason)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", rep.Passed, rep.Failed)
}

func verdict(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}
