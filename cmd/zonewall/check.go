package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/zones"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		return &cobra.Command{
			Use:   "check [DIR]",
			Short: "Validate zone files (no root, no Docker needed)",
			Long: "Validate the zone files in DIR (default: the configured zones directory).\n" +
				"Prints \"N files, N zones, N flows: ok\", or every error as file:line:col: message.",
			Args: maxArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				dir := a.config().ZonesDir
				if len(args) == 1 {
					dir = args[0]
				}
				pol, err := loadPolicy(dir, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d files, %d zones, %d flows: ok\n", len(pol.Files), len(pol.Zones), len(pol.Flows))
				return nil
			},
		}
	})
}

// loadPolicy loads dir, printing every zone-file error to stderr on its own
// line; the returned error carries exit code 1 and the error count.
func loadPolicy(dir string, stderr io.Writer) (*zones.Policy, error) {
	pol, err := zones.Load(dir)
	if err == nil {
		return pol, nil
	}
	var list zones.ErrorList
	if !errors.As(err, &list) {
		return nil, &exitError{code: exitFailure, msg: err.Error()}
	}
	for _, e := range list {
		fmt.Fprintln(stderr, e.Error())
	}
	return nil, &exitError{code: exitFailure, msg: plural(len(list), "error")}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
