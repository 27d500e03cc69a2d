package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestTestCommandExamples(t *testing.T) {
	files, err := filepath.Glob("../../deploy/examples/tests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example tests: %v", err)
	}
	code, out, errOut := run(t, append([]string{"test", "--zones-dir", exampleZones}, files...)...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || errOut != "" || !strings.HasSuffix(lines[len(lines)-1], " passed, 0 failed") || len(lines) < 16 {
		t.Fatalf("test = %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "PASS ") {
			t.Errorf("line %q is not a PASS", l)
		}
	}
}

func TestTestCommandFailures(t *testing.T) {
	zonesDir := writeFiles(t, map[string]string{
		"z.yaml": "zones:\n  web: {members: [{name: web}]}\n  db: {members: [{name: db}]}\nflows:\n  - {name: web-db, from: web, to: db, ports: [tcp/5432]}\n",
	})
	tests := writeFiles(t, map[string]string{
		"a.yaml": "expect:\n  - \"web -> db tcp/5432: allow\"\n  - \"db -> web tcp/5432: allow\"\n  - \"web -> db tcp/5432: deny\"\n",
		"b.yaml": "expect:\n  - \"web -> dbb tcp/5432: allow\"\n",
	})
	a, b := filepath.Join(tests, "a.yaml"), filepath.Join(tests, "b.yaml")
	code, out, errOut := run(t, "test", a, b, "--zones-dir", zonesDir)
	zf := filepath.Join(zonesDir, "z.yaml")
	wantOut := `PASS ` + a + `:2: web -> db tcp/5432: allow (flow "web-db" (` + zf + `:5))
FAIL ` + a + `:3: db -> web tcp/5432: allow: got deny: no flow from db to web allows tcp/5432
FAIL ` + a + `:4: web -> db tcp/5432: deny: got allow: flow "web-db" (` + zf + `:5)
1 passed, 2 failed
`
	wantErr := b + `:2:5: "web -> dbb tcp/5432: allow": to: unknown zone "dbb" (did you mean "db"?)
1 invalid test file
`
	if code != 1 || out != wantOut || errOut != wantErr {
		t.Errorf("test = %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, out, wantOut, errOut, wantErr)
	}

	// Only failures, no bad input: still exit 1.
	if code, _, _ := run(t, "test", a, "--zones-dir", zonesDir); code != 1 {
		t.Errorf("test with failures = %d, want 1", code)
	}
}

func TestTestCommandBadInput(t *testing.T) {
	if code, _, _ := run(t, "test"); code != exitUsage {
		t.Errorf("test without files = %d, want %d", code, exitUsage)
	}
	bad := writeFiles(t, map[string]string{"z.yaml": "zones: [\n"})
	code, _, errOut := run(t, "test", "--zones-dir", bad, "x.yaml")
	if code != 1 || !strings.Contains(errOut, "z.yaml:1:1: YAML syntax") {
		t.Errorf("test with an invalid policy = %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "test", "--zones-dir", exampleZones, filepath.Join(t.TempDir(), "zwtest-z-missing.yaml"))
	if code != 1 || !strings.Contains(errOut, "zwtest-z-missing.yaml: cannot read") {
		t.Errorf("test with a missing file = %d, stderr %q", code, errOut)
	}
}
