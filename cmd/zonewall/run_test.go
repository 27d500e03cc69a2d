package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hello", "k", 1)
	if !strings.HasPrefix(buf.String(), `{"time":`) || !strings.Contains(buf.String(), `"msg":"hello"`) {
		t.Fatalf("json log = %q", buf.String())
	}
	buf.Reset()
	log, _ = newLogger(&buf, "text", "warn")
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(buf.String(), "hidden") || !strings.Contains(buf.String(), "level=WARN msg=shown") {
		t.Fatalf("text log at warn = %q", buf.String())
	}
	if _, err := newLogger(&buf, "xml", "info"); err == nil {
		t.Fatal("log_format xml accepted")
	}
	if _, err := newLogger(&buf, "text", "loud"); err == nil {
		t.Fatal("log_level loud accepted")
	}
}

func TestRunRejectsBadLogFormat(t *testing.T) {
	_, stderr, code := runDaemonCLI(t, "run", "--log-format", "xml")
	if code != exitUsage || !strings.Contains(stderr, "log_format") {
		t.Fatalf("code %d, %q; want 2 naming log_format", code, stderr)
	}
}
