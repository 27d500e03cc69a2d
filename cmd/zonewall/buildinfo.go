package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Stamped at build time by the release builder (deploy/release):
//
//	-ldflags "-X main.version=0.1.0 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// A plain `go build` leaves them empty; build falls back to what the Go
// toolchain recorded (vcs.revision, vcs.time) so a dev binary still says
// which commit it came from.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// build describes the running binary.
type build struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes (dev builds only)
	GoVersion string `json:"go"`
	Platform  string `json:"platform"`
}

// buildInfo returns the stamped values, else the toolchain's VCS settings.
func buildInfo() build {
	b := build{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				b.Modified = commit == "" && s.Value == "true"
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// String is what `zonewall version` and `zonewall --version` print.
func (b build) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "zonewall %s\n", b.Version)
	c := b.Commit
	if b.Modified {
		c += " (modified)"
	}
	fmt.Fprintf(&s, "commit: %s\n", c)
	fmt.Fprintf(&s, "built: %s\n", b.Date)
	fmt.Fprintf(&s, "go: %s %s\n", b.GoVersion, b.Platform)
	return s.String()
}

// setVersionFlag gives the root command `--version`, printing the same as
// `zonewall version`.
func setVersionFlag(root *cobra.Command) {
	root.Version = version
	// The template is text/template: keep the braces of a hostile stamp
	// (there are none in ours) from being interpreted.
	root.SetVersionTemplate(strings.NewReplacer("{{", "{{`{{`}}").Replace(buildInfo().String()))
}
