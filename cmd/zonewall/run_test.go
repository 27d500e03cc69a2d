package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "debug", false)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hello", "k", 1)
	if !strings.HasPrefix(buf.String(), `{"time":`) || !strings.Contains(buf.String(), `"msg":"hello"`) {
		t.Fatalf("json log = %q", buf.String())
	}
	buf.Reset()
	log, _ = newLogger(&buf, "text", "warn", false)
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "level=WARN msg=shown") {
		t.Fatalf("text log at warn = %q", buf.String())
	}
	if _, err := newLogger(&buf, "xml", "info", false); err == nil {
		t.Fatal("log_format xml accepted")
	}
	if _, err := newLogger(&buf, "text", "loud", false); err == nil {
		t.Fatal("log_level loud accepted")
	}
}

func TestRunRejectsBadLogFormat(t *testing.T) {
	_, stderr, code := runDaemonCLI(t, "run", "--log-format", "xml")
	if code != exitUsage || !strings.Contains(stderr, "log_format") {
		t.Fatalf("code %d, %q; want 2 naming log_format", code, stderr)
	}
}

// Under systemd every line carries its syslog priority, so journalctl -p
// err finds the errors; attributes and groups still apply.
func TestLoggerJournalPriorities(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := newLogger(&buf, format, "debug", true)
		if err != nil {
			t.Fatal(err)
		}
		log = log.With("component", "test")
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e", "err", "boom")
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("%s: %d lines: %q", format, len(lines), buf.String())
		}
		for i, p := range []string{"<7>", "<6>", "<4>", "<3>"} {
			if !strings.HasPrefix(lines[i], p) || !strings.Contains(lines[i], "component") {
				t.Errorf("%s: line %d = %q, want prefix %s and the attribute", format, i, lines[i], p)
			}
		}
	}
	var buf bytes.Buffer
	log, _ := newLogger(&buf, "text", "warn", true)
	log.Info("hidden")
	if buf.Len() != 0 {
		t.Errorf("level filter lost: %q", buf.String())
	}
}

func TestStderrIsJournal(t *testing.T) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(os.Stderr.Fd()), &st); err != nil {
		t.Skip(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !stderrIsJournal() {
		t.Error("JOURNAL_STREAM naming stderr not recognised")
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1))
	if stderrIsJournal() {
		t.Error("JOURNAL_STREAM naming another file taken for stderr")
	}
	t.Setenv("JOURNAL_STREAM", "")
	if stderrIsJournal() {
		t.Error("no JOURNAL_STREAM taken for the journal")
	}
}
