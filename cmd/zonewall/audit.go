package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var outFmt *output
		cmd := &cobra.Command{
			Use:   "audit",
			Short: "Report containers and ports that zonewall cannot or does not protect (exit 3 if any)",
			Long: "From the running daemon: host-network, default-bridge, unzoned, conflicting and\n" +
				"unfilterable containers; ports published on every interface that no flow from world\n" +
				"reaches; flows impossible because their zones share no Docker network; br_netfilter off;\n" +
				"the Docker version and firewall backend, and whether zonewall is tested with them\n" +
				"(a finding only when unsupported: older than Docker 20.10, or an unknown backend).\n" +
				"Exit code 3 when anything is reported, 0 when clean.",
			Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				res, err := daemonClient(a).Audit(cmd.Context())
				if err != nil {
					return daemonError(err)
				}
				out := cmd.OutOrStdout()
				if outFmt.JSON() {
					if err := writeJSONOut(out, res); err != nil {
						return err
					}
				} else if len(res.Findings) == 0 {
					fmt.Fprintln(out, "no findings")
				} else {
					printFindings(out, res.Findings, "")
					fmt.Fprintf(out, "%s\n", plural(len(res.Findings), "finding"))
				}
				if d := res.Docker; d != nil && !outFmt.JSON() {
					fmt.Fprintf(out, "Docker %s (API %s, %s backend): %s: %s\n",
						d.Version, d.APIVersion, d.FirewallBackend, d.Support, d.Detail)
				}
				if len(res.Findings) > 0 {
					return &exitError{code: exitFindings}
				}
				return nil
			},
		}
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}
