package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var outFmt *output
		cmd := &cobra.Command{
			Use:   "version",
			Short: "Print version and build information (also: zonewall --version)",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				info := buildInfo()
				if outFmt.JSON() {
					return writeJSONOut(cmd.OutOrStdout(), info)
				}
				fmt.Fprint(cmd.OutOrStdout(), info.String())
				return nil
			},
		}
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// noArgs is cobra.NoArgs with a usage exit code.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

// maxArgs is cobra.MaximumNArgs with a usage exit code.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return &usageError{fmt.Errorf("%s takes at most %d argument(s), got %d", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}
