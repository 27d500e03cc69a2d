package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/enforcer/control"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var (
			outFmt *output
			q      control.DropQuery
			since  string
		)
		cmd := &cobra.Command{
			Use:   "drops",
			Short: "Show dropped (in audit mode: would-be dropped) connections with container and zone names",
			Long: "From the running daemon: the recent drops (it keeps the last 1,000), oldest first,\n" +
				"with container, compose service and zone on both sides and the default that dropped.\n" +
				"Filters combine (all must match); --zone and --container match either side.\n" +
				"-o json prints one JSON object per line.",
			Example: "  zonewall drops --since 10m --zone db\n" +
				"  zonewall drops --last 20 --direction egress\n" +
				"  zonewall drops -f --container shop-api-1 -o json",
			Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if since != "" {
					t, err := parseSince(since, time.Now())
					if err != nil {
						return &usageError{err}
					}
					q.Since = t
				}
				if err := q.Validate(); err != nil {
					return &usageError{err}
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				out := cmd.OutOrStdout()
				enc := json.NewEncoder(out)
				err := daemonClient(a).DropsMatching(ctx, q, func(d control.Drop) error {
					if outFmt.JSON() {
						return enc.Encode(d)
					}
					printDrop(out, d)
					return nil
				})
				if err != nil && ctx.Err() == nil {
					return daemonError(err)
				}
				return nil
			},
		}
		f := cmd.Flags()
		f.BoolVarP(&q.Follow, "follow", "f", false, "keep printing new drops as they happen")
		f.StringVar(&since, "since", "", "only drops since a duration ago (10m, 1h30m) or a time (2026-12-07T10:00:00Z, 10:00)")
		f.IntVarP(&q.Last, "last", "n", 0, "only the last N drops of those recorded (with --follow: then every new one)")
		f.StringVar(&q.Zone, "zone", "", "only drops with this zone on either side (or unzoned, world, host)")
		f.StringVar(&q.Container, "container", "", "only drops with this container (name or ID) on either side")
		f.StringVar(&q.Direction, "direction", "", "only drops in this direction: "+strings.Join(control.Directions, ", "))
		f.StringVar(&q.Reason, "reason", "", "only drops decided by this default (no-flow-container, spoofed-source, ...)")
		_ = cmd.RegisterFlagCompletionFunc("direction", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return control.Directions, cobra.ShellCompDirectiveNoFileComp
		})
		_ = cmd.RegisterFlagCompletionFunc("zone", completeFlagNames(a, true))
		_ = cmd.RegisterFlagCompletionFunc("container", completeFlagNames(a, false))
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// printDrop prints one line: time, protocol, both ends with their container,
// compose service and zone, and the log prefix (which default decided).
func printDrop(w io.Writer, d control.Drop) {
	why := d.Prefix
	if d.Decided != "" {
		why += " [" + d.Decided + "]"
	}
	src, dst := dropSide(d.Src), dropSide(d.Dst)
	if d.Src.Kind == "unknown" && d.InIface != "" {
		src = "(from " + d.InIface + ")" // no address: the port it came in on is all we know
	}
	fmt.Fprintf(w, "%s %-6s %s -> %s  %s\n", d.Time.UTC().Format("2006-01-02T15:04:05.000Z"), d.Proto, src, dst, why)
}

func dropSide(s control.DropSide) string {
	addr := s.Addr
	if s.Port != 0 {
		if strings.Contains(addr, ":") {
			addr = "[" + addr + "]"
		}
		addr += ":" + strconv.Itoa(int(s.Port))
	}
	switch s.Kind {
	case "container":
		who := s.Container
		if s.Service != "" {
			who += " " + s.Service
		}
		zone := s.Zone
		if zone == "" {
			zone = "unzoned"
		}
		return fmt.Sprintf("%s (%s, zone %s)", addr, who, zone)
	case "unknown":
		return "(unknown)"
	case "world":
		if s.Name != "" {
			return fmt.Sprintf("%s (world, last resolved from %s)", addr, strconv.QuoteToGraphic(s.Name))
		}
		return fmt.Sprintf("%s (world)", addr)
	default:
		return fmt.Sprintf("%s (%s)", addr, s.Kind)
	}
}

// parseSince reads --since: a duration before now ("10m", "2h"), an RFC
// 3339 time, or a clock time today in local time ("10:00", "10:00:30").
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			d = -d
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			y, m, d := now.Date()
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, now.Location()), nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (10m, 1h30m), an RFC 3339 time (2026-12-07T10:00:00Z), a date and time (2026-12-07 10:00) or a time today (10:00)", s)
}
