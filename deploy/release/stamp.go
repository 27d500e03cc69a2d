package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// stamp is what a release build writes into the binary and the package.
type stamp struct {
	Version string    // Debian-compatible, e.g. 0.1.0 or 0.1.0+git20261207223000.a7fa8ae1b2c3
	Commit  string    // full commit hash, or "unknown" outside git
	Date    time.Time // commit time or SOURCE_DATE_EPOCH, UTC
}

// validVersion is what both dpkg and the -X linker flag accept without
// quoting: a digit first, then letters, digits and . + ~ (no "-": that
// would start a Debian revision).
var validVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]{0,63}$`)

// stampFromCheckout reads the commit, its time and the version from git and
// CHANGELOG.md. An explicit version wins.
func stampFromCheckout(repo, explicit string) (stamp, error) {
	st := stamp{Commit: "unknown", Date: time.Now().UTC().Truncate(time.Second)}
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err
	}
	inGit := false
	if c, err := git("rev-parse", "HEAD"); err == nil && c != "" {
		inGit = true
		st.Commit = c
		if ct, err := git("log", "-1", "--format=%ct"); err == nil {
			if sec, err := strconv.ParseInt(ct, 10, 64); err == nil {
				st.Date = time.Unix(sec, 0).UTC()
			}
		}
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return st, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
		}
		st.Date = time.Unix(sec, 0).UTC()
	}

	switch {
	case explicit != "":
		st.Version = strings.TrimPrefix(explicit, "v")
	case inGit:
		tag, _ := git("describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD")
		dirty, _ := git("status", "--porcelain", "--untracked-files=no")
		rel, err := changelogVersion(filepath.Join(repo, "CHANGELOG.md"))
		if err != nil && tag == "" {
			return st, err
		}
		st.Version = deriveVersion(tag, rel, st.Commit, st.Date, dirty != "")
	default:
		rel, err := changelogVersion(filepath.Join(repo, "CHANGELOG.md"))
		if err != nil {
			return st, err
		}
		st.Version = rel
	}
	if !validVersion.MatchString(st.Version) {
		return st, usageError{fmt.Errorf("version %q: want a digit first, then letters, digits and . + ~ (e.g. 0.2.0, 0.2.0~rc1)", st.Version)}
	}
	return st, nil
}

// deriveVersion: a clean checkout at a vX.Y.Z tag is X.Y.Z; anything else
// is the last release plus the commit, which dpkg orders after the release
// and before the next one ("0.1.0" < "0.1.0+git..." < "0.1.1").
func deriveVersion(tag, lastRelease, commit string, when time.Time, dirty bool) string {
	if tag != "" && !dirty {
		return strings.TrimPrefix(tag, "v")
	}
	base := lastRelease
	if tag != "" {
		base = strings.TrimPrefix(tag, "v")
	}
	short := commit
	if len(short) > 12 {
		short = short[:12]
	}
	v := fmt.Sprintf("%s+git%s.%s", base, when.UTC().Format("20060102150405"), short)
	if dirty {
		v += ".dirty"
	}
	return v
}

// changelogHeading matches "## [0.1.0] - 2026-12-07" (Keep a Changelog).
var changelogHeading = regexp.MustCompile(`^## \[([0-9][A-Za-z0-9.+~]*)\]`)

// changelogVersion is the newest released version in CHANGELOG.md (the
// first "## [X.Y.Z]" heading; "## [Unreleased]" does not count).
func changelogVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("no version: not at a v* tag and %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := changelogHeading.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New(path + ": no release heading like \"## [0.1.0] - 2026-12-07\"; pass --version")
}
