package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/enforcer/control"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var (
			outFmt   *output
			exitCode bool
		)
		cmd := &cobra.Command{
			Use:   "explain FROM TO [PROTO/PORT]",
			Short: "Would this connection pass? Prints the verdict and the flow or reason",
			Long: "Ask the running daemon whether a connection from FROM to TO would pass.\n" +
				"FROM and TO: a container name or ID, a zone, an IP address, world, world:IP, world:NAME or host.\n" +
				"world:NAME (a DNS name) is decided by the flows whose domains match it.\n" +
				"PROTO/PORT: tcp/443, udp/53, icmp, icmpv6; omitted means any traffic.\n" +
				"Exit code 0 for allow and deny alike, 1 for input it cannot understand;\n" +
				"with --exit-code, 0 for allow and 1 for deny (for scripts: zonewall explain ... --exit-code && ...).",
			Example: "  zonewall explain world shop-web-1 tcp/80\n  zonewall explain api world:203.0.113.7 tcp/443\n  zonewall explain worker world:api.stripe.com tcp/443",
			Args: func(cmd *cobra.Command, args []string) error {
				if len(args) < 2 || len(args) > 3 {
					return &usageError{fmt.Errorf("explain takes FROM TO [PROTO/PORT], got %d argument(s)", len(args))}
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				req := control.ExplainRequest{From: args[0], To: args[1]}
				if len(args) == 3 {
					req.Port = args[2]
				}
				res, err := daemonClient(a).Explain(cmd.Context(), req)
				if err != nil {
					return daemonError(err)
				}
				if outFmt.JSON() {
					if err := writeJSONOut(cmd.OutOrStdout(), res); err != nil {
						return err
					}
				} else {
					printExplain(cmd.OutOrStdout(), res)
				}
				if exitCode && !res.Allow {
					return &exitError{code: exitFailure}
				}
				return nil
			},
		}
		cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 when the connection would be denied, 0 when allowed")
		cmd.ValidArgsFunction = completeEndpoints(a)
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

func printExplain(w io.Writer, r control.ExplainResult) {
	verdict := "deny"
	if r.Allow {
		verdict = "allow"
	}
	fmt.Fprintf(w, "%s: %s\n", verdict, r.Reason)
	fmt.Fprintf(w, "  from: %s\n", describeResolved(r.From))
	fmt.Fprintf(w, "  to:   %s\n", describeResolved(r.To))
	fmt.Fprintf(w, "  port: %s\n", r.Port)
}

// describeResolved shows how an endpoint was understood, e.g.
// "shop-web-1 (container, zone web)" or "203.0.113.7 (world)".
func describeResolved(r control.Resolved) string {
	s := r.Input + " ("
	switch r.Kind {
	case "container":
		if r.Container != r.Input {
			s += "container " + r.Container
		} else {
			s += "container"
		}
		if r.Zone != "" {
			s += ", zone " + r.Zone
		}
	case "zone":
		s += "zone"
	case "world":
		s += "world"
		if r.Addr != "" && r.Addr != r.Input && "world:"+r.Addr != r.Input {
			s += " " + r.Addr
		}
		if r.Name != "" {
			s += ", DNS name " + r.Name
		}
	default:
		s += r.Kind
	}
	if r.Note != "" {
		s += ", " + r.Note
	}
	return s + ")"
}
