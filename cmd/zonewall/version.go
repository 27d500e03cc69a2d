package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func init() {
	registerCommand(func(a *app) *cobra.Command {
		var outFmt *output
		cmd := &cobra.Command{
			Use:   "version",
			Short: "Print version and build information (also: zonewall --version)",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				info := readVersionInfo()
				if outFmt.JSON() {
					return writeJSONOut(cmd.OutOrStdout(), info)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "zonewall %s\n", info.Version)
				fmt.Fprintf(out, "go: %s %s/%s\n", info.Go, info.OS, info.Arch)
				for _, kv := range [][2]string{{"vcs.revision", info.Revision}, {"vcs.time", info.Time}, {"vcs.modified", info.Modified}} {
					if kv[1] != "" {
						fmt.Fprintf(out, "%s: %s\n", kv[0], kv[1])
					}
				}
				return nil
			},
		}
		outFmt = addOutputFlags(cmd)
		return cmd
	})
}

// versionInfo is what `zonewall version` prints; also its JSON form.
type versionInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"vcs_time,omitempty"`
	Modified string `json:"vcs_modified,omitempty"`
	Go       string `json:"go"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
}

func readVersionInfo() versionInfo {
	v := versionInfo{Version: version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				v.Time = s.Value
			case "vcs.modified":
				v.Modified = s.Value
			}
		}
	}
	return v
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
