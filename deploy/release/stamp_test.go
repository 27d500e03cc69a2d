package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDeriveVersion(t *testing.T) {
	when := time.Date(2026, 12, 7, 22, 30, 0, 0, time.UTC)
	commit := "a7fa8ae64df74d9b96d75fd13741eb870400d12c"
	cases := []struct {
		tag, last string
		dirty     bool
		want      string
	}{
		{"v0.2.0", "0.1.0", false, "0.2.0"},
		{"", "0.1.0", false, "0.1.0+git20261207223000.a7fa8ae64df7"},
		{"", "0.1.0", true, "0.1.0+git20261207223000.a7fa8ae64df7.dirty"},
		{"v0.2.0", "0.1.0", true, "0.2.0+git20261207223000.a7fa8ae64df7.dirty"},
	}
	for _, c := range cases {
		if got := deriveVersion(c.tag, c.last, commit, when, c.dirty); got != c.want {
			t.Errorf("deriveVersion(%q, %q, dirty=%v) = %q, want %q", c.tag, c.last, c.dirty, got, c.want)
		}
		if !validVersion.MatchString(c.want) {
			t.Errorf("%q is not a valid version", c.want)
		}
	}
}

// dpkg must order a dev build after its release and before the next one.
func TestDevVersionsOrderForDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("no dpkg")
	}
	dev := deriveVersion("", "0.1.0", "a7fa8ae64df74d9b96d75fd13741eb870400d12c", time.Unix(1765146600, 0), false)
	for _, c := range [][3]string{{"0.1.0", "lt", dev}, {dev, "lt", "0.1.1"}, {dev, "lt", dev + ".dirty"}, {"0.2.0~rc1", "lt", "0.2.0"}} {
		if err := exec.Command("dpkg", "--compare-versions", c[0], c[1], c[2]).Run(); err != nil {
			t.Errorf("dpkg: not %s %s %s", c[0], c[1], c[2])
		}
	}
}

func TestValidVersion(t *testing.T) {
	for _, v := range []string{"0.1.0", "1.2.3~rc1", "0.1.0+git20261207.abc"} {
		if !validVersion.MatchString(v) {
			t.Errorf("%q rejected", v)
		}
	}
	// No "-" (a Debian revision), no spaces or quotes (ldflags, file names),
	// no path separators, a digit first.
	for _, v := range []string{"", "v1.0", "1.0-1", "1.0 -X main.commit=evil", "1/../../x", "1.0\n", "1.0'", strings.Repeat("1", 65)} {
		if validVersion.MatchString(v) {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestChangelogVersion(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "CHANGELOG.md")
	os.WriteFile(p, []byte("# Changelog\n\n## [Unreleased]\n\n- x\n\n## [0.3.1] - 2026-12-08\n\n## [0.3.0] - 2026-11-25\n"), 0o644)
	if v, err := changelogVersion(p); err != nil || v != "0.3.1" {
		t.Errorf("changelogVersion = %q, %v; want 0.3.1", v, err)
	}
	os.WriteFile(p, []byte("# Changelog\n\n## [Unreleased]\n"), 0o644)
	if _, err := changelogVersion(p); err == nil || !strings.Contains(err.Error(), "--version") {
		t.Errorf("no release heading: err = %v, want a hint to pass --version", err)
	}
	// The repository's own changelog names a release.
	if v, err := changelogVersion(filepath.Join("..", "..", "CHANGELOG.md")); err != nil || !validVersion.MatchString(v) {
		t.Errorf("CHANGELOG.md: %q, %v", v, err)
	}
}

func TestStampExplicitVersion(t *testing.T) {
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	t.Setenv("SOURCE_DATE_EPOCH", "1765146600")
	st, err := stampFromCheckout(repo, "v0.9.0")
	if err != nil || st.Version != "0.9.0" || !st.Date.Equal(time.Unix(1765146600, 0)) {
		t.Fatalf("stamp = %+v, %v", st, err)
	}
	if _, err := stampFromCheckout(repo, "0.9.0-1"); err == nil {
		t.Fatal("a version with a Debian revision was accepted")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := stampFromCheckout(repo, "0.9.0"); err == nil {
		t.Fatal("a bad SOURCE_DATE_EPOCH was accepted")
	}
}
