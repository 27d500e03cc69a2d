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

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/enforcer/control"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var follow, asJSON bool
		cmd := &cobra.Command{
			Use:   "drops",
			Short: "Show dropped (in audit mode: would-be dropped) connections with container and zone names",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				out := cmd.OutOrStdout()
				enc := json.NewEncoder(out)
				err := daemonClient(a).Drops(ctx, follow, func(d control.Drop) error {
					if asJSON {
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
		cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new drops as they happen")
		cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
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
