package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := executeIO(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const exampleZones = "../../deploy/examples/zones.d"

func TestCheckExamplePolicy(t *testing.T) {
	code, out, errOut := run(t, "check", exampleZones)
	if code != 0 || out != "3 files, 4 zones, 5 flows: ok\n" || errOut != "" {
		t.Errorf("check = %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCheckReportsEveryError(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"base.yaml": "zones:\n  web:\n    members: [{name: web}]\n",
		"shop.yaml": "zones:\n  web:\n    members: [{name: web2}]\n  api:\n    members: [{name: api}]\nflows:\n  - from: web\n    to: apii\n    ports: [tcp/70000]\n",
	})
	t.Chdir(dir)
	code, out, errOut := run(t, "check", ".")
	want := `base.yaml:2:3: zone "web" is also defined at shop.yaml:2:3
shop.yaml:2:3: zone "web" is also defined at base.yaml:2:3
shop.yaml:8:9: flow 1: unknown zone "apii" (did you mean "api"?)
shop.yaml:9:13: ports: "tcp/70000": port out of range 1-65535
4 errors
`
	if code != 1 || out != "" || errOut != want {
		t.Errorf("check = %d, stdout %q, stderr:\n%s\nwant:\n%s", code, out, errOut, want)
	}
}

func TestCheckDirectoryFromConfig(t *testing.T) {
	empty := t.TempDir()
	code, _, errOut := run(t, "--zones-dir", empty, "check")
	if code != 1 || errOut != empty+": no *.yaml or *.yml files\n1 error\n" {
		t.Errorf("check with --zones-dir = %d, stderr %q", code, errOut)
	}
	t.Setenv("ZONEWALL_ZONES_DIR", exampleZones)
	if code, out, _ := run(t, "check"); code != 0 || !strings.HasSuffix(out, ": ok\n") {
		t.Errorf("check with ZONEWALL_ZONES_DIR = %d, %q", code, out)
	}
}

func TestCheckUsage(t *testing.T) {
	if code, _, _ := run(t, "check", "a", "b"); code != exitUsage {
		t.Errorf("check a b = %d, want %d", code, exitUsage)
	}
}
