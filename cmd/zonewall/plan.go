package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/docker"
	"github.com/zonewall/zonewall/enforcer/nft"
)

// exitChanges is plan's exit code for "changes pending" with
// --detailed-exitcode (terraform's convention: 0 none, 1 error, 2 pending).
const exitChanges = 2

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var (
			outFmt       *output
			full         bool
			detailedExit bool
		)
		cmd := &cobra.Command{
			Use:   "plan [DIR | FILE]",
			Short: "Show what applying the zone files now would change in the live ruleset",
			Long: "Load the zone files in DIR (default: the configured zones directory), read the\n" +
				"containers Docker runs now, compile the ruleset zonewall would install, and print\n" +
				"a unified diff against the live ruleset (all of it as added lines when no zonewall\n" +
				"table is live). --full prints the whole planned ruleset first, in nft syntax.\n" +
				"Needs root and Docker, not the daemon; changes nothing.\n\n" +
				"Exit code 0 whether or not something would change; with --detailed-exitcode\n" +
				"0 means no changes, 2 changes pending, 1 an error.",
			Example: "  zonewall plan /srv/zones.d\n  zonewall plan --detailed-exitcode >/dev/null; echo $?",
			Args:    maxArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg := a.config()
				dir := cfg.ZonesDir
				if len(args) == 1 {
					var err error
					if dir, err = checkTarget(args[0], cmd.ErrOrStderr(), outFmt.JSON()); err != nil {
						return err
					}
				}
				pol, err := loadPolicy(dir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				defer cancel()
				cli, err := dockerClient(cfg.DockerHost)
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: " + err.Error()}
				}
				defer cli.Close()
				inv, err := docker.Inventory(ctx, cli)
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: " + err.Error()}
				}
				rs, rep := enforcer.Compile(pol, inv, enforcer.Options{NflogGroup: cfg.NflogGroup})

				applier, err := nft.New()
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: cannot read the live ruleset (root needed): " + err.Error()}
				}
				defer applier.Close()
				live, err := applier.Live()
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: cannot read the live ruleset: " + err.Error()}
				}
				p := makePlan(dir, len(inv.Containers), rs.String(), live)
				for _, f := range rep.Findings {
					p.Reported = append(p.Reported, control.Finding{Kind: string(f.Kind), Container: f.ContainerName, ContainerID: f.ContainerID, Detail: f.Detail})
				}
				if outFmt.JSON() {
					if !full {
						p.Ruleset = ""
					}
					if err := writeJSONOut(cmd.OutOrStdout(), p); err != nil {
						return err
					}
				} else {
					printPlan(cmd.OutOrStdout(), p, full)
				}
				if detailedExit && p.Changes {
					return &exitError{code: exitChanges}
				}
				return nil
			},
		}
		f := cmd.Flags()
		f.BoolVar(&full, "full", false, "print the whole planned ruleset before the changes")
		f.BoolVar(&detailedExit, "detailed-exitcode", false, "exit 0 when nothing would change, 2 when changes are pending, 1 on error")
		addDockerFlags(f)
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// plan is what `zonewall plan` found; also its JSON form.
type plan struct {
	ZonesDir   string            `json:"zones_dir"`
	Containers int               `json:"containers"`
	Live       bool              `json:"live"`    // a zonewall table is in the kernel
	Changes    bool              `json:"changes"` // applying would change it
	Added      int               `json:"lines_added"`
	Removed    int               `json:"lines_removed"`
	Diff       string            `json:"diff,omitempty"` // unified, live -> planned
	Ruleset    string            `json:"ruleset,omitempty"`
	Reported   []control.Finding `json:"reported"`
}

// makePlan diffs the planned ruleset against the live one.
func makePlan(dir string, containers int, planned, live string) plan {
	p := plan{ZonesDir: dir, Containers: containers, Ruleset: planned, Live: strings.TrimSpace(live) != "", Reported: []control.Finding{}}
	p.Diff = rulesetDiff(live, planned)
	for _, l := range strings.Split(p.Diff, "\n") {
		switch {
		case strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "--- "):
		case strings.HasPrefix(l, "+"):
			p.Added++
		case strings.HasPrefix(l, "-"):
			p.Removed++
		}
	}
	p.Changes = p.Diff != ""
	return p
}

func printPlan(w io.Writer, p plan, full bool) {
	fmt.Fprintf(w, "# zonewall plan: %s, %d containers\n", p.ZonesDir, p.Containers)
	if full {
		io.WriteString(w, p.Ruleset)
		fmt.Fprintln(w)
	}
	for _, f := range p.Reported {
		who := f.Container
		if who != "" {
			who += ": "
		}
		fmt.Fprintf(w, "# reported %s: %s%s\n", f.Kind, who, f.Detail)
	}
	switch {
	case !p.Changes:
		fmt.Fprintln(w, "# no changes: the live ruleset is what the zone files ask for")
		return
	case !p.Live:
		fmt.Fprintln(w, "# no zonewall table is live: applying would install all of this")
	}
	io.WriteString(w, p.Diff)
	fmt.Fprintf(w, "# %s to add, %d to remove\n", plural(p.Added, "line"), p.Removed)
}

// liveCounter matches the running totals nft prints in live counters; the
// planned ruleset has none, and traffic is no change of policy.
var liveCounter = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// rulesetDiff is the unified diff (3 lines of context) from live to
// planned, "" when they are equal. Counter values, blank lines and
// trailing blanks are no change of policy and are left out of both.
func rulesetDiff(live, planned string) string {
	return udiff.Unified("live", "planned", normalizeRuleset(live), normalizeRuleset(planned))
}

func normalizeRuleset(s string) string {
	var sb strings.Builder
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		sb.WriteString(liveCounter.ReplaceAllString(l, "counter"))
		sb.WriteByte('\n')
	}
	return sb.String()
}
