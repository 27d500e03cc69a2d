package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/enforcer/control"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var outFmt *output
		cmd := &cobra.Command{
			Use:   "status",
			Short: "Show what the running daemon enforces",
			Long: "From the running daemon: mode, policy source and age, the last reload error if any,\n" +
				"zones with their member containers, reported containers, and the last apply.\n" +
				"Exits 1 when the daemon is degraded (no valid policy, Docker unreachable, last apply failed).",
			Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				st, err := daemonClient(a).Status(cmd.Context())
				if err != nil {
					return daemonError(err)
				}
				if outFmt.JSON() {
					if err := writeJSONOut(cmd.OutOrStdout(), st); err != nil {
						return err
					}
				} else {
					printStatus(cmd.OutOrStdout(), st, time.Now())
				}
				if len(st.Degraded) > 0 {
					return &exitError{code: exitFailure, msg: "zonewall: degraded: " + strings.Join(st.Degraded, "; ")}
				}
				return nil
			},
		}
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// daemonClient connects to the configured control socket.
func daemonClient(a *app) *control.Client { return control.NewClient(a.config().Socket) }

// daemonError turns a control-socket error into the exit code and message
// an operator expects (1 with "cannot reach the daemon ..." when it is down).
func daemonError(err error) error {
	var bad *control.BadRequestError
	if errors.As(err, &bad) {
		return &exitError{code: exitFailure, msg: "zonewall: " + bad.Msg}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return &exitError{code: exitFailure, msg: "zonewall: " + err.Error()}
}

func printStatus(w io.Writer, st control.Status, now time.Time) {
	mode := st.Mode
	if mode == "" {
		mode = "none (no valid policy)"
	}
	if len(st.Degraded) > 0 {
		fmt.Fprintf(w, "DEGRADED:\n")
		for _, d := range st.Degraded {
			fmt.Fprintf(w, "  %s\n", d)
		}
	}
	fmt.Fprintf(w, "mode:          %s\n", mode)
	p := st.Policy
	switch p.Source {
	case "none":
		fmt.Fprintf(w, "policy:        none loaded from %s\n", p.Dir)
	case "state":
		fmt.Fprintf(w, "policy:        last valid policy from state (%s is not valid), %d zones, %d flows, loaded %s ago\n", p.Dir, p.Zones, p.Flows, ago(p.LoadedAt, now))
	default:
		fmt.Fprintf(w, "policy:        %s (%d files, %d zones, %d flows), loaded %s ago\n", p.Dir, len(p.Files), p.Zones, p.Flows, ago(p.LoadedAt, now))
	}
	if e := p.LastError; e != nil {
		fmt.Fprintf(w, "reload error:  %s ago; still enforcing the policy above (%d reload failures in all):\n", ago(e.At, now), st.ReloadFailures)
		for _, m := range e.Errors {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	docker := "synced"
	if !st.Synced {
		docker = "not read yet"
		if st.BootFromState {
			docker += " (enforcing the last applied ruleset from state)"
		}
	}
	fmt.Fprintf(w, "docker:        %s\n", docker)
	fmt.Fprintf(w, "br_netfilter:  %s\n", st.BridgeNetfilter)
	if la := st.LastApply; la != nil {
		kind := "incremental"
		if la.Full {
			kind = "full rebuild"
		}
		fmt.Fprintf(w, "last apply:    %s (%s ago), %s, %s", la.At.UTC().Format(time.RFC3339), ago(la.At, now), kind, fmtDuration(la.Duration))
		if len(la.Counts) > 0 {
			fmt.Fprintf(w, ", %s", fmtCounts(la.Counts))
		}
		fmt.Fprintln(w)
		if la.Error != "" {
			fmt.Fprintf(w, "               FAILED: %s\n", la.Error)
			if !la.LastSuccess.IsZero() {
				fmt.Fprintf(w, "               last success %s ago\n", ago(la.LastSuccess, now))
			}
		}
	} else {
		fmt.Fprintf(w, "last apply:    never\n")
	}
	fmt.Fprintf(w, "applies:       %d (%d failed), drift repairs: %d\n", st.Applies, st.ApplyFailures, st.DriftRepairs)
	fmt.Fprintf(w, "reconciles:    %d compiles, %d unchanged (no kernel transaction)\n", st.Compiles, st.Unchanged)
	if st.Observing != "" {
		o := st.Observations
		fmt.Fprintf(w, "observing:     %s; %d of at most %d observations, %d evicted\n", st.Observing, o.Keys, o.Cap, o.Evictions)
		if o.SetAside != "" {
			fmt.Fprintf(w, "               an unreadable observation file was set aside as %s\n", o.SetAside)
		}
	}
	if len(st.StoppedHostNet) > 0 {
		fmt.Fprintf(w, "stopped (host network): %s\n", strings.Join(st.StoppedHostNet, ", "))
	}

	fmt.Fprintf(w, "\nzones:\n")
	if len(st.Zones) == 0 {
		fmt.Fprintf(w, "  (none)\n")
	}
	for _, z := range st.Zones {
		names := make([]string, 0, len(z.Members))
		for _, m := range z.Members {
			n := m.Name
			if m.Service != "" {
				n += " [" + m.Service + "]"
			}
			names = append(names, n)
		}
		list := strings.Join(names, ", ")
		if list == "" {
			list = "-"
		}
		fmt.Fprintf(w, "  %s (%d): %s\n", z.Name, len(z.Members), list)
	}
	if len(st.Names) > 0 {
		fmt.Fprintf(w, "\nnames (egress by DNS name; live addresses per zone and name):\n")
		for _, n := range st.Names {
			fmt.Fprintf(w, "  %s  %s: %d address(es), until %s\n", n.Zone, strconv.QuoteToGraphic(n.Name), n.LiveAddrs, n.Expires.UTC().Format(time.RFC3339))
		}
	}
	fmt.Fprintf(w, "\nreported (%d):\n", len(st.Reported))
	printFindings(w, st.Reported, "  ")
}

// printFindings lists findings in aligned columns: kind, container, detail.
func printFindings(w io.Writer, fs []control.Finding, indent string) {
	sorted := append([]control.Finding(nil), fs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Kind < sorted[j].Kind })
	for _, f := range sorted {
		who := f.Container
		if f.ContainerID != "" {
			who += " (" + f.ContainerID + ")"
		}
		if who != "" {
			who += ": "
		}
		fmt.Fprintf(w, "%s%-16s %s%s\n", indent, f.Kind, who, f.Detail)
	}
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String()
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func fmtCounts(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}
