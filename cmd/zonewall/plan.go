package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/docker"
	"github.com/zonewall/zonewall/enforcer/nft"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:   "plan [DIR]",
			Short: "Print the ruleset the zone files would install now, and what would change",
			Long: "Load the zone files in DIR (default: the configured zones directory), read the\n" +
				"containers Docker runs now, and print the ruleset zonewall would install, in nft\n" +
				"syntax, then a unified diff against the live ruleset. Needs root and Docker, not\n" +
				"the daemon; changes nothing.",
			Args: maxArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg := a.config()
				dir := cfg.ZonesDir
				if len(args) == 1 {
					dir = args[0]
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
				out := cmd.OutOrStdout()
				planned := rs.String()
				fmt.Fprintf(out, "# zonewall plan: %s, %d containers\n", dir, len(inv.Containers))
				io.WriteString(out, planned)
				for _, f := range rep.Findings {
					who := f.ContainerName
					if who != "" {
						who += ": "
					}
					fmt.Fprintf(out, "# reported %s: %s%s\n", f.Kind, who, f.Detail)
				}

				applier, err := nft.New()
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: cannot read the live ruleset (root needed): " + err.Error()}
				}
				defer applier.Close()
				live, err := applier.Live()
				if err != nil {
					return &exitError{code: exitFailure, msg: "zonewall: cannot read the live ruleset: " + err.Error()}
				}
				fmt.Fprintln(out)
				if strings.TrimSpace(live) == "" {
					fmt.Fprintln(out, "# no live zonewall table: applying would install all of the above")
					return nil
				}
				d := unifiedDiff("live", "planned", live, planned, 3)
				if d == "" {
					fmt.Fprintln(out, "# no changes against the live ruleset")
					return nil
				}
				fmt.Fprintln(out, "# changes against the live ruleset:")
				io.WriteString(out, d)
				return nil
			},
		}
	})
}

// unifiedDiff renders the line differences of a and b as a unified diff
// with ctx lines of context; "" when they are equal (ignoring blank lines
// and indentation, which nft and our renderer may lay out differently).
func unifiedDiff(nameA, nameB, a, b string, ctx int) string {
	la, lb := diffLines(a), diffLines(b)
	ops := diffOps(la, lb)
	changed := false
	for _, o := range ops {
		if o.kind != ' ' {
			changed = true
			break
		}
	}
	if !changed {
		return ""
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", nameA, nameB)
	// Group operations into hunks separated by more than 2*ctx equal lines.
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-ctx, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		h := ops[start:end]
		aStart, bStart := h[0].ai+1, h[0].bi+1
		var aLen, bLen int
		for _, o := range h {
			if o.kind != '+' {
				aLen++
			}
			if o.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
		for _, o := range h {
			sb.WriteByte(o.kind)
			sb.WriteString(o.text)
			sb.WriteByte('\n')
		}
		i = end
	}
	return sb.String()
}

// liveCounter matches the running totals nft prints in live counters; the
// planned ruleset has none, and traffic is no change of policy.
var liveCounter = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// diffLines splits text into trimmed, non-blank lines without counter values.
func diffLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, liveCounter.ReplaceAllString(l, "counter"))
		}
	}
	return out
}

type diffOp struct {
	kind   byte // ' ', '-', '+'
	text   string
	ai, bi int // positions in a and b before this line
}

// diffOps is a longest-common-subsequence diff over the part between the
// common prefix and suffix; a middle too large for the quadratic table is
// shown as removed and added wholesale.
func diffOps(a, b []string) []diffOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{' ', a[i], i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) > 4_000_000 {
		for i, l := range ma {
			ops = append(ops, diffOp{'-', l, pre + i, pre})
		}
		for j, l := range mb {
			ops = append(ops, diffOp{'+', l, pre + len(ma), pre + j})
		}
	} else {
		// lcs[i][j] = LCS length of ma[i:] and mb[j:].
		lcs := make([][]int32, len(ma)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(mb)+1)
		}
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) || j < len(mb) {
			switch {
			case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
				ops = append(ops, diffOp{' ', ma[i], pre + i, pre + j})
				i++
				j++
			case i < len(ma) && (j == len(mb) || lcs[i+1][j] >= lcs[i][j+1]):
				ops = append(ops, diffOp{'-', ma[i], pre + i, pre + j})
				i++
			default:
				ops = append(ops, diffOp{'+', mb[j], pre + i, pre + j})
				j++
			}
		}
	}
	for k := 0; k < suf; k++ {
		ia, ib := len(a)-suf+k, len(b)-suf+k
		ops = append(ops, diffOp{' ', a[ia], ia, ib})
	}
	return ops
}
