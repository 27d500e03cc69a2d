// Command release builds zonewall's release artifacts from a checkout:
//
//	go run ./deploy/release [--version V] [--out dist] [--arch amd64,arm64]
//
// For each architecture it writes to --out (default dist/, gitignored):
//
//	zonewall_V_linux_ARCH          static binary (CGO off), version/commit/date stamped
//	zonewall_V_linux_ARCH.tar.gz   the binary, man pages, completions, LICENSE, README, CHANGELOG
//	zonewall_V_ARCH.deb            Debian package (nfpm), see deploy/debian/README.md
//
// and SHA256SUMS over all of them. The version is the v* tag on HEAD, else
// the newest release in CHANGELOG.md plus "+git<commit time>.<commit>"
// (".dirty" for uncommitted changes). The build date is the commit's time
// (or SOURCE_DATE_EPOCH), so the same commit gives the same artifacts.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

// options are the command line, resolved.
type options struct {
	repo    string // checkout root (holds go.mod)
	out     string
	version string // empty: derived from git and CHANGELOG.md
	arches  []string
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o options
	var arches string
	fs.StringVar(&o.out, "out", "dist", "output directory (relative to the checkout)")
	fs.StringVar(&o.version, "version", "", "release version, e.g. 0.2.0 (default: from the tag or CHANGELOG.md)")
	fs.StringVar(&arches, "arch", "amd64,arm64", "comma-separated GOARCH list: amd64, arm64")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, "usage: go run ./deploy/release [--version V] [--out DIR] [--arch amd64,arm64]")
			fs.PrintDefaults()
			return nil
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	for _, a := range strings.Split(arches, ",") {
		a = strings.TrimSpace(a)
		if _, ok := debArch[a]; !ok {
			return usageError{fmt.Errorf("--arch %q: supported are amd64 and arm64", a)}
		}
		o.arches = append(o.arches, a)
	}
	repo, err := findRepo()
	if err != nil {
		return err
	}
	o.repo = repo
	if !filepath.IsAbs(o.out) {
		o.out = filepath.Join(repo, o.out)
	}

	st, err := stampFromCheckout(repo, o.version)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zonewall %s (commit %s, %s)\n", st.Version, st.Commit, st.Date.Format("2006-01-02T15:04:05Z07:00"))
	arts, err := build(o, st, stdout)
	if err != nil {
		return err
	}
	for _, a := range arts {
		fmt.Fprintf(stdout, "  %s\n", filepath.Join(o.out, a))
	}
	return nil
}

// findRepo returns the checkout root: the nearest directory upwards from
// the working directory that holds zonewall's go.mod.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/zonewall/zonewall\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run me inside a zonewall checkout (no go.mod of github.com/zonewall/zonewall above the working directory)")
		}
		dir = parent
	}
}
