package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	zwconfig "github.com/zonewall/zonewall/cmd/zonewall/internal/config"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "zonewall.yaml")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestConfigFileErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"zones_dirr: /x\n", `:1:1: unknown key "zones_dirr" in configuration (did you mean "zones_dir"?)`},
		{"nflog_group: 70000\n", `:1:14: nflog_group: 70000: netfilter log group out of range 1-65535`},
		{"nflog_group: 0\n", `:1:14: nflog_group: 0: netfilter log group out of range 1-65535`},
		{"nflog_group: 99999999999999999999\n", `nflog_group: "99999999999999999999": netfilter log group out of range 1-65535`},
		{"nflog_group: abc\n", `:1:14: nflog_group: "abc": not a number`},
		{"log_format: jsn\n", `:1:13: log_format: "jsn": want text or json (did you mean "json"?)`},
		{"log_level: loud\n", `:1:12: log_level: "loud": want debug or info or warn or error`},
		{"metrics_listen: 9477\n", `:1:17: metrics_listen: "9477": want host:port`},
		{"metrics_listen: \"127.0.0.1:99999\"\n", `metrics_listen: 99999: port out of range 0-65535`},
		{"zones_dir: \"\"\n", `:1:12: zones_dir: must not be empty`},
		{"socket: [a, b]\n", `:1:9: socket: expected a single value`},
		{"socket: /a\nsocket: /b\n", `:2:1: key "socket" is given twice (first at line 1)`},
		{"- a\n", `:1:1: configuration: expected a mapping of keys`},
		{"zwtest-h-SECRET-line\n", `:1:1: configuration: expected a mapping of keys`},
		{"socket: /a\n---\nsocket: /b\n", `:2:1: a configuration file holds one YAML document`},
		{"socket: [\n", `YAML syntax`},
	} {
		file := writeConfig(t, tc.content)
		code, _, stderr := run(t, "--config", file, "check", exampleZones)
		if code != exitFailure || !strings.HasPrefix(stderr, file+":") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", tc.content, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "SECRET") {
			t.Errorf("%q: the file's content is echoed: %q", tc.content, stderr)
		}
	}
}

func TestConfigFileValid(t *testing.T) {
	file := writeConfig(t, "# defaults\nzones_dir: "+exampleZones+"\ndocker_host:\nmetrics_listen: \"\"\nnflog_group: 7001\nlog_format: json\n")
	code, out, stderr := run(t, "--config", file, "check")
	if code != 0 || !strings.Contains(out, ": ok") {
		t.Errorf("exit %d, %q %q", code, out, stderr)
	}
	code, out, stderr = run(t, "--config", "/dev/null", "check", exampleZones)
	if code != 0 || !strings.Contains(out, ": ok") {
		t.Errorf("--config /dev/null: exit %d, %q %q", code, out, stderr)
	}
	code, out, stderr = run(t, "--config", writeConfig(t, ""), "check", exampleZones)
	if code != 0 || !strings.Contains(out, ": ok") {
		t.Errorf("empty config: exit %d, %q %q", code, out, stderr)
	}
}

func TestConfigSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := writeConfig(t, "# "+strings.Repeat("x", zwconfig.MaxSize)+"\n")
	for file, want := range map[string]string{
		fifo:                            "config " + fifo + ": is a named pipe (FIFO), not a regular file",
		"/dev/zero":                     "config /dev/zero: is a device, not a regular file",
		dir:                             "config " + dir + ": is a directory, not a regular file",
		big:                             "config " + big + ": larger than 64 KiB",
		filepath.Join(dir, "none.yaml"): "config " + filepath.Join(dir, "none.yaml") + ": no such file or directory",
	} {
		done := make(chan struct{})
		var code int
		var stderr string
		go func() { code, _, stderr = run(t, "--config", file, "check", exampleZones); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("--config %s hangs", file)
		}
		if code != exitFailure || !strings.Contains(stderr, want) {
			t.Errorf("--config %s: exit %d, %q; want %q", file, code, stderr, want)
		}
	}
}

func TestConfigEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"ZONEWALL_NFLOG_GROUP", "70000", "environment ZONEWALL_NFLOG_GROUP: nflog_group: 70000: netfilter log group out of range 1-65535"},
		{"ZONEWALL_LOG_FORMAT", "xml", `environment ZONEWALL_LOG_FORMAT: log_format: "xml": want text or json`},
		{"ZONEWALL_ZONES_DIRR", "/x", `environment "ZONEWALL_ZONES_DIRR": unknown setting (did you mean "ZONEWALL_ZONES_DIR"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.name, tc.value)
			code, _, stderr := run(t, "--config", writeConfig(t, ""), "check", exampleZones)
			if code != exitFailure || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, %q; want 1 and %q", code, stderr, tc.want)
			}
		})
	}
	t.Setenv("ZONEWALL_CONFIG", writeConfig(t, "nflog_group: 0\n"))
	if code, _, stderr := run(t, "check", exampleZones); code != exitFailure || !strings.Contains(stderr, "nflog_group: 0:") {
		t.Errorf("ZONEWALL_CONFIG: exit %d, %q; want its file read", code, stderr)
	}
	t.Setenv("ZONEWALL_CONFIG", "")
	t.Setenv("ZONEWALL_ZONES_DIR", exampleZones)
	if code, out, stderr := run(t, "--config", writeConfig(t, ""), "check"); code != 0 || !strings.Contains(out, ": ok") {
		t.Errorf("ZONEWALL_ZONES_DIR: exit %d, %q %q", code, out, stderr)
	}
}

func TestConfigFlags(t *testing.T) {
	empty := writeConfig(t, "")
	// The daemon's settings are flags of run (and plan); the pre-run check
	// refuses them before anything starts.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", empty, "plan", "--nflog-group", "0"}, "--nflog-group: nflog_group: 0: netfilter log group out of range 1-65535"},
		{[]string{"--config", empty, "plan", "--nflog-group", "70000"}, "nflog-group"},
		{[]string{"--config", empty, "run", "--log-format", "yaml"}, `--log-format: log_format: "yaml": want text or json`},
		{[]string{"run", "--config", empty, "--metrics-listen", "nowhere"}, `--metrics-listen: metrics_listen: "nowhere": want host:port`},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// Global flags stand before or after the command.
	for _, args := range [][]string{
		{"--config", empty, "--zones-dir", exampleZones, "check"},
		{"check", "--zones-dir", exampleZones, "--config", empty},
	} {
		if code, out, stderr := run(t, args...); code != 0 || !strings.Contains(out, ": ok") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, stderr)
		}
	}
}
