package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func releaseCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := executeIO(append([]string{"--config", os.DevNull}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestVersionStamps(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "1.2.3+git20261207.abc", "0123456789abcdef0123456789abcdef01234567", "2026-12-07T22:00:00Z"
	out, _, code := releaseCLI(t, "version")
	want := "zonewall 1.2.3+git20261207.abc\ncommit: 0123456789abcdef0123456789abcdef01234567\nbuilt: 2026-12-07T22:00:00Z\ngo: "
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("version: exit %d\n%s\nwant prefix\n%s", code, out, want)
	}
	flag, _, code := releaseCLI(t, "--version")
	if code != 0 || flag != out {
		t.Fatalf("--version (exit %d):\n%s\ndiffers from version:\n%s", code, flag, out)
	}
}

// A stamp is printed as is, never run as a template.
func TestVersionFlagPrintsBracesLiterally(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "{{.Name}}"
	out, _, _ := releaseCLI(t, "--version")
	if !strings.HasPrefix(out, "zonewall {{.Name}}\n") {
		t.Fatalf("--version = %q", out)
	}
}

// cleanup must not delete the tables under a running daemon. (The deletion
// itself is tested against a throwaway namespace in test/deploy.)
func TestCleanupRefusesWhileDaemonAnswers(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "zw.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, errOut, code := releaseCLI(t, "cleanup", "--socket", sock)
	if code != exitFailure || !strings.Contains(errOut, "a daemon is running") || !strings.Contains(errOut, "--force") {
		t.Fatalf("cleanup with a live socket: exit %d, %q", code, errOut)
	}
}

func TestDaemonAnswers(t *testing.T) {
	dir := t.TempDir()
	if daemonAnswers(filepath.Join(dir, "none.sock")) {
		t.Error("a missing socket answers")
	}
	stale := filepath.Join(dir, "stale.sock")
	l, _ := net.Listen("unix", stale)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if daemonAnswers(stale) {
		t.Error("a stale socket file (no listener) answers")
	}
}

func TestGenDocs(t *testing.T) {
	dir := t.TempDir()
	if _, errOut, code := releaseCLI(t, "gen-docs", dir); code != 0 {
		t.Fatalf("gen-docs: exit %d: %s", code, errOut)
	}
	for _, f := range []string{"man/zonewall.1", "man/zonewall-run.1", "man/zonewall-explain.1", "man/zonewall-cleanup.1",
		"completions/zonewall.bash", "completions/_zonewall", "completions/zonewall.fish"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) < 100 {
			t.Errorf("%s: %v (%d bytes)", f, err, len(b))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man", "zonewall-gen-docs.1")); err == nil {
		t.Error("the hidden gen-docs command got a man page")
	}
	page, _ := os.ReadFile(filepath.Join(dir, "man", "zonewall-explain.1"))
	if !strings.Contains(string(page), ".TH \"ZONEWALL\" \"1\"") || !strings.Contains(string(page), "explain") {
		t.Errorf("zonewall-explain.1 is not a man page:\n%.300s", page)
	}
}
