package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestVersionFlagAndJSON(t *testing.T) {
	code, out, _ := run(t, "--version")
	if code != 0 || out != buildInfo().String() {
		t.Errorf("--version = %d, %q", code, out)
	}
	code, out, _ = run(t, "version", "-o", "json")
	var v build
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version != version || v.GoVersion == "" {
		t.Errorf("version -o json = %d, %q", code, out)
	}
	if code, _, errOut := run(t, "version", "-o", "yaml"); code != exitUsage || !strings.Contains(errOut, `unknown output format "yaml"`) {
		t.Errorf("version -o yaml = %d, %q", code, errOut)
	}
}

// Every command with output takes -o json and --json.
func TestEveryOutputCommandHasOutputFlags(t *testing.T) {
	for _, c := range []string{"check", "test", "plan", "version", "status", "drops", "audit", "explain"} {
		_, out, _ := run(t, c, "--help")
		if !strings.Contains(out, "-o, --output format") || !strings.Contains(out, "--json") {
			t.Errorf("%s --help lacks -o/--json:\n%s", c, out)
		}
	}
}

// Daemon settings are flags of run (plan has the Docker ones it needs);
// the spec's global flags stay global, before or after the command.
func TestDaemonFlagsOnlyOnRun(t *testing.T) {
	daemonOnly := []string{"--metrics-listen", "--log-format", "--log-level", "--log-drops", "--nflog-group", "--docker-host"}
	_, runHelp, _ := run(t, "run", "--help")
	for _, f := range daemonOnly {
		if !strings.Contains(runHelp, f) {
			t.Errorf("run --help lacks %s", f)
		}
	}
	for _, c := range []string{"status", "check", "drops", "explain"} {
		_, help, _ := run(t, c, "--help")
		for _, f := range daemonOnly {
			if strings.Contains(help, f) {
				t.Errorf("%s --help shows the daemon flag %s", c, f)
			}
		}
		for _, f := range []string{"--zones-dir", "--socket", "--state-dir", "--config"} {
			if !strings.Contains(help, f) {
				t.Errorf("%s --help lacks the global flag %s", c, f)
			}
		}
	}
	if code, _, errOut := run(t, "status", "--metrics-listen", ":1"); code != exitUsage || !strings.Contains(errOut, "unknown flag") {
		t.Errorf("status --metrics-listen = %d, %q", code, errOut)
	}
}

func TestDaemonDefaultsWithoutFlags(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "zonewall.yaml")
	if err := os.WriteFile(conf, []byte("nflog_group: 7005\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got config
	saved := commandFactories
	t.Cleanup(func() { commandFactories = saved })
	registerCommand(func(a *app) *cobra.Command {
		return &cobra.Command{Use: "zwtest-capture", RunE: func(*cobra.Command, []string) error { got = a.config(); return nil }}
	})
	root := newRootCommand()
	root.SetArgs([]string{"--config", conf, "zwtest-capture"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.NflogGroup != 7005 || got.LogFormat != "text" || !got.LogDrops || got.Socket != "/run/zonewall/zonewall.sock" {
		t.Errorf("config without daemon flags = %+v", got)
	}
	// log_drops is a configuration key like the others.
	if err := os.WriteFile(conf, []byte("log_drops: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root = newRootCommand()
	root.SetArgs([]string{"--config", conf, "zwtest-capture"})
	if err := root.Execute(); err != nil || got.LogDrops {
		t.Errorf("log_drops: false: %v, LogDrops %v", err, got.LogDrops)
	}
}

func TestCheckFileChecksItsDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "zones:\n  web: {members: [{name: web}]}\n  api: {members: [{name: api}]}\n",
		"b.yaml": "flows:\n  - {from: web, to: api, ports: [tcp/8080]}\n",
	})
	file := filepath.Join(dir, "b.yaml")
	code, out, errOut := run(t, "check", file)
	if code != 0 || out != "2 files, 2 zones, 1 flows: ok\n" || !strings.Contains(errOut, "b.yaml is part of the policy in "+dir) {
		t.Errorf("check FILE = %d, stdout %q, stderr %q", code, out, errOut)
	}
	txt := filepath.Join(dir, "notes.txt")
	os.WriteFile(txt, []byte("x"), 0o600)
	if code, _, errOut := run(t, "check", txt); code != 1 || !strings.Contains(errOut, "not a zone file") {
		t.Errorf("check notes.txt = %d, %q", code, errOut)
	}
	if code, _, errOut := run(t, "check", file, file); code != exitUsage || !strings.Contains(errOut, "one directory") {
		t.Errorf("check FILE FILE = %d, %q", code, errOut)
	}
}

func TestCheckJSON(t *testing.T) {
	code, out, errOut := run(t, "check", exampleZones, "-o", "json")
	var res checkResult
	if code != 0 || errOut != "" || json.Unmarshal([]byte(out), &res) != nil || !res.OK || res.Zones != 4 || len(res.Files) != 3 {
		t.Errorf("check -o json = %d, %q, %q", code, out, errOut)
	}
	bad := writeFiles(t, map[string]string{"z.yaml": "zones:\n  web: {members: [{name: web}]}\nflows:\n  - {from: web, to: apii}\n"})
	code, out, errOut = run(t, "check", bad, "--json")
	res = checkResult{}
	if code != 1 || errOut != "" || json.Unmarshal([]byte(out), &res) != nil || res.OK || len(res.Errors) != 1 ||
		res.Errors[0].Line != 4 || res.Errors[0].Col == 0 || !strings.Contains(res.Errors[0].Message, `unknown zone "apii"`) {
		t.Errorf("check --json of a bad policy = %d, %q, %q", code, out, errOut)
	}
}

func TestTestDirectoryAndZoneFileMixUp(t *testing.T) {
	zonesDir := writeFiles(t, map[string]string{
		"z.yaml": "zones:\n  web: {members: [{name: web}]}\n  db: {members: [{name: db}]}\nflows:\n  - {name: web-db, from: web, to: db, ports: [tcp/5432]}\n",
	})
	tests := writeFiles(t, map[string]string{
		"a.yaml":    "expect:\n  - \"web -> db tcp/5432: allow\"\n",
		"b.yml":     "expect:\n  - \"db -> web tcp/5432: deny\"\n",
		"notes.txt": "not a test",
	})
	code, out, errOut := run(t, "test", "--zones-dir", zonesDir, tests)
	if code != 0 || errOut != "" || !strings.HasSuffix(out, "2 passed, 0 failed\n") {
		t.Errorf("test DIR = %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The zones directory where tests belong: say exactly what to run.
	code, _, errOut = run(t, "test", zonesDir)
	if code != 1 || !strings.Contains(errOut, "holds zone files") || !strings.Contains(errOut, "zonewall test --zones-dir "+zonesDir+" tests/") {
		t.Errorf("test ZONESDIR = %d, %q", code, errOut)
	}
	code, _, errOut = run(t, "test", "--zones-dir", zonesDir, filepath.Join(zonesDir, "z.yaml"))
	if code != 1 || !strings.Contains(errOut, "holds zone files") {
		t.Errorf("test ZONEFILE = %d, %q", code, errOut)
	}
	code, out, _ = run(t, "test", "--zones-dir", zonesDir, tests, "-o", "json")
	var rep testReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Passed != 2 || len(rep.Results) != 2 || rep.Results[0].Flow != "web-db" || rep.Results[0].Line != 2 {
		t.Errorf("test -o json = %d, %s", code, out)
	}
	empty := t.TempDir()
	if code, _, errOut := run(t, "test", "--zones-dir", zonesDir, empty); code != 1 || !strings.Contains(errOut, "no *.yaml or *.yml test files") {
		t.Errorf("test EMPTYDIR = %d, %q", code, errOut)
	}
}
