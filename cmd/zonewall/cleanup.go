package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/zonewall/zonewall/enforcer/nft"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var force bool
		cmd := &cobra.Command{
			Use:   "cleanup",
			Short: "Delete zonewall's nftables tables (enforcement ends)",
			Long: "Delete exactly zonewall's nftables tables, `table inet zonewall`,\n" +
				"`table bridge zonewall` and `table inet zonewall_dns`, in this network namespace. Docker's tables and every\n" +
				"other table stay as they are, so containers are back to Docker's defaults at once.\n" +
				"State (state_dir) and configuration are not touched.\n\n" +
				"Stop the daemon first: a running daemon would rebuild its tables. cleanup\n" +
				"refuses while a daemon answers on --socket, unless --force.\n" +
				"The Debian package runs it when zonewall is removed.",
			Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				sock := a.config().Socket
				if !force && daemonAnswers(sock) {
					return &exitError{code: exitFailure, msg: fmt.Sprintf(
						"zonewall: a daemon is running (control socket %s): it would rebuild its tables.\n"+
							"Stop it first (systemctl stop zonewall), or pass --force.", sock)}
				}
				ap, err := nft.New()
				if err != nil {
					return fmt.Errorf("cleanup: %w", err)
				}
				defer ap.Close()
				if err := ap.Cleanup(); err != nil {
					return fmt.Errorf("cleanup: %w", err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), "deleted nftables tables inet zonewall, bridge zonewall and inet zonewall_dns (where present)")
				return nil
			},
		}
		cmd.Flags().BoolVar(&force, "force", false, "delete the tables even while a daemon is running")
		return cmd
	})
}

// daemonAnswers reports whether something accepts connections on the
// control socket. A stale socket file (daemon gone) refuses them.
func daemonAnswers(socket string) bool {
	c, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		// Anything but "nobody there" is taken as a daemon we cannot
		// talk to (e.g. permission denied): better refuse than fight it.
		return !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT)
	}
	c.Close()
	return true
}
