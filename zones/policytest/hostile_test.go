package policytest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTwoDocumentsAreAnError(t *testing.T) {
	pol := loadPolicy(t)
	data := "expect:\n  - \"web -> api tcp/8080: allow\"\n---\nexpect:\n  - \"web -> api tcp/9: allow\"\n"
	_, err := Parse("t.yaml", []byte(data), pol)
	if err == nil || err.Error() != `t.yaml:3:1: a test file holds one YAML document; remove the extra "---" (or put the expectations in one list)` {
		t.Errorf("got %v", err)
	}
	// A lone "---" before the only document is fine.
	if _, err := Parse("t.yaml", []byte("---\nexpect: [\"web -> api tcp/8080: allow\"]\n"), pol); err != nil {
		t.Errorf("leading ---: %v", err)
	}
}

func TestHostileTestFiles(t *testing.T) {
	pol := loadPolicy(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		fifo:        fifo + ": cannot read: is a named pipe (FIFO), not a regular file",
		"/dev/zero": "/dev/zero: cannot read: is a device, not a regular file",
		dir:         dir + ": cannot read: is a directory, not a regular file",
		big:         big + ": cannot read: larger than 1024 KiB",
	} {
		done := make(chan error)
		go func() { _, err := ParseFile(file, pol); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s: got %v, want %q", file, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ParseFile hangs", file)
		}
	}
}

func TestManyBadExpectationsAreBounded(t *testing.T) {
	pol := loadPolicy(t)
	data := "expect:\n" + strings.Repeat("  - \"web -> nowhere tcp/1: allow\"\n", 5000)
	_, err := Parse("t.yaml", []byte(data), pol)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 1001 || !strings.Contains(lines[1000], "4000 more errors not shown") {
		t.Errorf("got %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}
