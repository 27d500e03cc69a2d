package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The maintainer scripts' systemd branch, which CI (no systemd as PID 1)
// never takes during dpkg: each script runs in a private mount namespace
// whose /run is a fresh tmpfs holding /run/systemd/system, with a stand-in
// systemctl on PATH that records its calls. is-active answers from
// $ZW_ACTIVE. The host's /run is never touched.
func runMaintainerScript(t *testing.T, active bool, script string, args ...string) []string {
	t.Helper()
	requireTools(t, true, "unshare", "mount")
	requireNoZonewallInstalled(t) // prerm would run /usr/bin/zonewall cleanup
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	stub := "#!/bin/sh\necho \"$*\" >> " + calls + "\n" +
		"if [ \"$1\" = is-active ]; then [ \"$ZW_ACTIVE\" = 1 ]; exit; fi\nexit 0\n"
	if err := os.WriteFile(filepath.Join(dir, "systemctl"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	act := "0"
	if active {
		act = "1"
	}
	inner := "mount --make-rprivate / && mount -t tmpfs zwtest-r-run /run && mkdir -p /run/systemd/system /run/zonewall && " +
		"exec env PATH=" + dir + ":/usr/sbin:/usr/bin:/sbin:/bin ZW_ACTIVE=" + act + " sh \"$0\" \"$@\""
	full := append([]string{"-m", "sh", "-c", inner, filepath.Join(repo, "deploy", "debian", script)}, args...)
	r := runCmd(t, "", "unshare", full...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", script, strings.Join(args, " "), r.code, r.out)
	}
	b, _ := os.ReadFile(calls)
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestMaintainerScriptsUnderSystemd(t *testing.T) {
	cases := []struct {
		name   string
		active bool
		script string
		args   []string
		want   string // systemctl calls, " | "-separated
	}{
		// A fresh install neither enables nor starts (deny by default).
		{"install", false, "postinst", []string{"configure"}, "daemon-reload"},
		// An upgrade restarts a running daemon, and only a running one.
		{"upgrade, running", true, "postinst", []string{"configure", "0.1.0"}, "daemon-reload | is-active --quiet zonewall.service | try-restart zonewall.service"},
		{"upgrade, stopped", false, "postinst", []string{"configure", "0.1.0"}, "daemon-reload | is-active --quiet zonewall.service"},
		// The old package's prerm/postrm on upgrade touch nothing.
		{"prerm upgrade", true, "prerm", []string{"upgrade", "0.2.0"}, ""},
		{"postrm upgrade", true, "postrm", []string{"upgrade", "0.2.0"}, ""},
		{"remove", true, "prerm", []string{"remove"}, "disable --now zonewall.service"},
		{"postrm remove", false, "postrm", []string{"remove"}, "daemon-reload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(runMaintainerScript(t, c.active, c.script, c.args...), " | ")
			if got != c.want {
				t.Errorf("%s %v: systemctl calls %q, want %q", c.script, c.args, got, c.want)
			}
		})
	}
}

func TestMaintainerScriptsRejectUnknownActions(t *testing.T) {
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		r := runCmd(t, "", "sh", filepath.Join(repo, "deploy", "debian", s), "bogus")
		if r.code == 0 || !strings.Contains(r.out, "unknown argument 'bogus'") {
			t.Errorf("%s bogus: exit %d, %q", s, r.code, r.out)
		}
	}
}
