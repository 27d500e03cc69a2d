package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// evil is a container name / label / file name meant to repaint the
// terminal (ANSI) and reorder what is shown (bidi override).
const evil = "web\x1b[2J\x1b]0;owned\x07\u202eexe.yaml"

func assertEscaped(t *testing.T, what, out string) {
	t.Helper()
	for _, raw := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(out, raw) {
			t.Errorf("%s: raw %q reaches the terminal: %q", what, raw, out)
		}
	}
}

func TestStatusAndDropsEscapeNames(t *testing.T) {
	f := &fakeDaemon{
		status: control.Status{Mode: "enforce", Policy: control.PolicyStatus{Source: "zones_dir", Dir: "/etc/zonewall/zones.d"},
			Zones:    []control.ZoneStatus{{Name: "web", Members: []control.Member{{Name: evil, Service: evil}}}},
			Reported: []control.Finding{{Kind: "unzoned", Container: evil, ContainerID: "abc", Detail: "label " + evil}}},
		drops: []control.Drop{{Time: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC), Prefix: "p", Proto: "tcp",
			Src: control.DropSide{Addr: "172.30.0.3", Port: 1, Kind: "container", Container: evil, Zone: "web"},
			Dst: control.DropSide{Addr: "203.0.113.1", Port: 2, Kind: "world"}}},
	}
	sock := startFakeDaemon(t, f)
	conf := writeConfig(t, "")
	for _, args := range [][]string{{"status"}, {"drops"}} {
		code, out, stderr := run(t, append([]string{"--config", conf, "--socket", sock}, args...)...)
		if code != 0 || !strings.Contains(out, `web\x1b[2J\x1b]0;owned\x07\u202eexe.yaml`) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
		}
		assertEscaped(t, args[0], out+stderr)
	}
	// JSON stays valid and keeps the exact name.
	code, out, _ := run(t, "--config", conf, "--socket", sock, "status", "--json")
	var st control.Status
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Zones[0].Members[0].Name != evil {
		t.Errorf("status --json: exit %d, err %v, %q", code, err, out)
	}
	assertEscaped(t, "status --json", out)
}

func TestCheckEscapesFileNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, evil), []byte("bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "--config", writeConfig(t, ""), "check", dir)
	if code != exitFailure || !strings.Contains(stderr, `\u202eexe.yaml:1:1: unknown key "bogus"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	assertEscaped(t, "check", out+stderr)
}
