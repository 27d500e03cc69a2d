package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stubDocker puts a `docker` on PATH that reports one running container.
func stubDocker(t *testing.T, in *installation) {
	t.Helper()
	dir := filepath.Join(in.root, "stub-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n[ \"$1 $2\" = \"ps -q\" ] && { echo 0123456789ab; exit 0; }\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	in.env = append(in.env, "PATH="+dir+":"+os.Getenv("PATH"))
}

func statusOut(t *testing.T, in *installation) string {
	t.Helper()
	return runCmd(t, "", "ip", "netns", "exec", in.netns, in.bin(), "--config", filepath.Join(in.etc, "zonewall.yaml"), "status").out
}

// On a host that already runs containers, a fresh install observes (audit
// mode, nothing dropped) instead of cutting them off; --enforce enforces.
func TestInstallObservesWhenContainersRun(t *testing.T) {
	in := newInstallation(t)
	in.writeConfig()
	stubDocker(t, in)
	out := in.mustScript()
	if !strings.Contains(out, "audit mode") || !exists(filepath.Join(in.etc, "zones.d", "00-observe.yaml")) {
		t.Fatalf("install with running containers did not install the observe policy:\n%s", out)
	}
	if st := statusOut(t, in); !strings.Contains(st, "mode:          audit") {
		t.Fatalf("daemon not in audit mode:\n%s", st)
	}
	os.Remove(filepath.Join(in.etc, "zones.d", "00-observe.yaml"))

	// --example on such a host: the example, in audit mode.
	in.mustScript("--example")
	settings, _ := os.ReadFile(filepath.Join(in.etc, "zones.d", "90-settings.yaml"))
	if !strings.Contains(string(settings), "mode: audit") {
		t.Fatalf("example settings not in audit mode:\n%s", settings)
	}
	// Installing again accepts the audit variant as unchanged.
	in.mustScript("--example")

	// --enforce: the example as it is, enforcing.
	in.mustScript("--example", "--enforce")
	settings, _ = os.ReadFile(filepath.Join(in.etc, "zones.d", "90-settings.yaml"))
	if !strings.Contains(string(settings), "mode: enforce") {
		t.Fatalf("--enforce did not install the enforcing example:\n%s", settings)
	}
	if st := statusOut(t, in); !strings.Contains(st, "mode:          enforce") {
		t.Fatalf("daemon not enforcing after --enforce:\n%s", st)
	}
}
