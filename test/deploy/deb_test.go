package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The Debian package is installed for real (dpkg cannot relocate), so these
// tests write to /usr/bin, /etc/zonewall, /lib/systemd/system and
// /var/lib/zonewall. They refuse to run where zonewall is installed already,
// and run dpkg inside a throwaway network namespace: the maintainer
// scripts' table deletion can only reach that namespace's tables, never a
// zonewall enforcing on the host.

// packagePaths are the paths that must not exist before and after a test.
var packagePaths = []string{
	"/usr/bin/zonewall", "/lib/systemd/system/zonewall.service", "/etc/zonewall",
	"/var/lib/zonewall", "/run/zonewall", "/usr/share/doc/zonewall",
}

// debs are two amd64 packages of this checkout, the second with a higher
// version (an upgrade). The first is the release artifact test/run-all
// built (ZW_RELEASE_DIR) when there is one; the rest are built here by the
// release builder: only the linker stamps differ, so a rebuild is a relink.
type debs struct{ old, new, oldVersion, newVersion string }

func buildDebs(t *testing.T) debs {
	t.Helper()
	var d debs
	if d.old = releaseDirDeb(t); d.old != "" {
		d.oldVersion = strings.TrimSpace(mustRun(t, "", "dpkg-deb", "-f", d.old, "Version"))
		d.newVersion = d.oldVersion + "+zwtest"
	} else {
		d.oldVersion, d.newVersion = "0.0.1~zwtest1", "0.0.1~zwtest2"
		d.old = releaseDeb(t, d.oldVersion)
	}
	d.new = releaseDeb(t, d.newVersion)
	return d
}

// releaseDirDeb is the amd64 package in ZW_RELEASE_DIR, or "" without one.
func releaseDirDeb(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ZW_RELEASE_DIR")
	if dir == "" {
		return ""
	}
	found, _ := filepath.Glob(filepath.Join(dir, "zonewall_*_amd64.deb"))
	if len(found) != 1 {
		t.Fatalf("ZW_RELEASE_DIR=%s: want one zonewall_*_amd64.deb, found %v", dir, found)
	}
	return found[0]
}

// releaseDeb builds the amd64 package of this checkout as version v.
func releaseDeb(t *testing.T, v string) string {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(goTool(), "run", "./deploy/release", "--arch", "amd64", "--version", v, "--out", out)
	cmd.Dir = repo
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./deploy/release --version %s: %v\n%s", v, err, b)
	}
	t.Logf("release %s built in %v", v, time.Since(start).Round(time.Millisecond))
	return filepath.Join(out, "zonewall_"+v+"_amd64.deb")
}

// requireNoZonewallInstalled refuses to touch a machine where zonewall is
// installed (by the package or by deploy/install.sh into the same paths).
func requireNoZonewallInstalled(t *testing.T) {
	t.Helper()
	var found []string
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "zonewall").Output(); err == nil && strings.TrimSpace(string(out)) != "" && !strings.Contains(string(out), "not-installed") {
		found = append(found, "package zonewall ("+strings.TrimSpace(string(out))+")")
	}
	for _, p := range packagePaths {
		if _, err := os.Lstat(p); err == nil {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return
	}
	if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
		t.Fatalf("zonewall is installed on this machine (%s): the package test would replace it", strings.Join(found, ", "))
	}
	t.Skipf("zonewall is installed on this machine (%s): not touching it", strings.Join(found, ", "))
}

// dpkg runs dpkg in ns, retrying while another dpkg/apt holds its lock.
func dpkg(t *testing.T, ns string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := runCmd(t, "", "ip", append([]string{"netns", "exec", ns, "env", "DEBIAN_FRONTEND=noninteractive", "dpkg"}, args...)...)
		if r.code == 0 {
			return r.out
		}
		if strings.Contains(r.out, "lock") && time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			continue
		}
		t.Fatalf("dpkg %s: exit %d\n%s", strings.Join(args, " "), r.code, r.out)
	}
}

func packageFiles(t *testing.T, deb string) []string {
	t.Helper()
	var paths []string
	for _, line := range strings.Split(mustRun(t, "", "dpkg-deb", "-c", deb), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasPrefix(f[0], "-") {
			continue // directories are shared (/usr/share/man, ...) or checked by name
		}
		paths = append(paths, strings.TrimPrefix(f[5], "."))
	}
	return paths
}

// TestDebPackage: what the package holds, and install -> upgrade -> purge on
// this machine, with zonewall's tables and an unrelated table in a netns.
func TestDebPackage(t *testing.T) {
	requireTools(t, true, "dpkg", "dpkg-deb", "dpkg-query", "ip", "nft")
	requireNoZonewallInstalled(t)
	d := buildDebs(t)

	// --- contents -----------------------------------------------------------
	fields := mustRun(t, "", "dpkg-deb", "-f", d.old, "Package", "Version", "Architecture", "Section", "Recommends")
	for _, want := range []string{"Package: zonewall", "Version: " + d.oldVersion, "Architecture: amd64", "Recommends: nftables"} {
		if !strings.Contains(fields, want) {
			t.Errorf("control fields lack %q:\n%s", want, fields)
		}
	}
	files := packageFiles(t, d.old)
	listing := strings.Join(files, "\n")
	for _, want := range []string{
		"/usr/bin/zonewall", "/lib/systemd/system/zonewall.service", "/etc/zonewall/zonewall.yaml",
		"/usr/share/bash-completion/completions/zonewall", "/usr/share/zsh/vendor-completions/_zonewall",
		"/usr/share/fish/vendor_completions.d/zonewall.fish", "/usr/share/man/man1/zonewall.1.gz",
		"/usr/share/man/man1/zonewall-run.1.gz", "/usr/share/man/man1/zonewall-explain.1.gz",
		"/usr/share/doc/zonewall/copyright", "/usr/share/doc/zonewall/examples/zones.d/10-shop-zones.yaml",
	} {
		if !strings.Contains("\n"+listing+"\n", "\n"+want+"\n") {
			t.Errorf("package lacks %s; it holds:\n%s", want, listing)
		}
	}
	if dirs := mustRun(t, "", "dpkg-deb", "-c", d.old); !regexp.MustCompile(`(?m)^drwxr-xr-x .* \./etc/zonewall/zones\.d/$`).MatchString(dirs) {
		t.Errorf("package lacks the zones.d directory:\n%s", dirs)
	}
	ctrl := t.TempDir()
	mustRun(t, "", "dpkg-deb", "-e", d.old, ctrl)
	if c := readFile(t, filepath.Join(ctrl, "conffiles")); strings.TrimSpace(c) != "/etc/zonewall/zonewall.yaml" {
		t.Errorf("conffiles = %q, want only /etc/zonewall/zonewall.yaml", c)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if b, err := os.ReadFile(filepath.Join(ctrl, s)); err != nil || string(b) != readFile(t, filepath.Join(repo, "deploy", "debian", s)) {
			t.Errorf("maintainer script %s is not deploy/debian/%s (%v)", s, s, err)
		}
	}

	// --- install ------------------------------------------------------------
	ns := newNetNS(t)
	t.Cleanup(func() {
		// Whatever happened, leave no package behind.
		if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "zonewall").Output(); len(out) > 0 && !strings.Contains(string(out), "not-installed") {
			_ = exec.Command("ip", "netns", "exec", ns, "dpkg", "--purge", "zonewall").Run()
		}
	})
	out := dpkg(t, ns, "-i", d.old)
	if !strings.Contains(out, "systemctl enable --now zonewall") {
		t.Errorf("a first install should say how to start zonewall:\n%s", out)
	}
	ver := mustRun(t, "", "/usr/bin/zonewall", "version")
	// The commit is this checkout's (ZW_RELEASE_DIR may hold a build of
	// another commit when run by hand; test/run-all builds the same one).
	commit := strings.TrimSpace(mustRun(t, "", "git", "-C", repo, "rev-parse", "HEAD"))
	if os.Getenv("ZW_RELEASE_DIR") != "" && os.Getenv("ZW_REQUIRE_PRIV") != "1" {
		commit = "[0-9a-f]{40}"
	}
	if !strings.Contains(ver, "zonewall "+d.oldVersion+"\n") || !regexp.MustCompile(`(?m)^commit: `+commit+`$`).MatchString(ver) || !regexp.MustCompile(`(?m)^built: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(ver) {
		t.Errorf("zonewall version after install:\n%s\nwant version %s, commit %s and a build date", ver, d.oldVersion, commit)
	}
	if v := mustRun(t, "", "/usr/bin/zonewall", "--version"); v != ver {
		t.Errorf("--version %q differs from version %q", v, ver)
	}
	unit := readFile(t, "/lib/systemd/system/zonewall.service")
	for _, want := range []string{"\nExecStart=/usr/bin/zonewall run\n", "\nBefore=network-pre.target docker.service\n", "\nWants=network-pre.target\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("installed unit lacks %q", strings.TrimSpace(want))
		}
	}
	if readFile(t, "/etc/zonewall/zonewall.yaml") != readFile(t, filepath.Join(repo, "deploy", "zonewall.yaml")) {
		t.Errorf("/etc/zonewall/zonewall.yaml is not deploy/zonewall.yaml")
	}
	if st, err := os.Stat("/etc/zonewall/zones.d"); err != nil || !st.IsDir() {
		t.Errorf("/etc/zonewall/zones.d: %v", err)
	}
	// The installed binary works with the installed configuration.
	mustRun(t, "", "/usr/bin/zonewall", "check", "/usr/share/doc/zonewall/examples/zones.d")

	// A running zonewall's footprint: its two tables (and Docker's, here a
	// stand-in that must survive), state, an operator's edit of the conffile.
	nftIn := func(script string) { mustRun(t, script, "ip", "netns", "exec", ns, "nft", "-f", "-") }
	nftIn("table inet zonewall { chain forward { type filter hook forward priority filter - 10; policy accept; counter; }; }\n" +
		"table bridge zonewall { chain prerouting { type filter hook prerouting priority filter - 10; policy accept; counter; }; }\n" +
		"table ip zwtest-r-docker { chain forward { type filter hook forward priority filter; policy accept; counter; }; }\n")
	if err := os.MkdirAll("/var/lib/zonewall", 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/var/lib/zonewall/policy.json", []byte(`{"format":1,"dir":"/etc/zonewall/zones.d","files":{}}`), 0o600)
	edited := readFile(t, "/etc/zonewall/zonewall.yaml") + "# edited by the operator\n"
	os.WriteFile("/etc/zonewall/zonewall.yaml", []byte(edited), 0o644)

	// --- upgrade: rules, state and configuration stay ------------------------
	dpkg(t, ns, "-i", d.new)
	if v := mustRun(t, "", "/usr/bin/zonewall", "version"); !strings.Contains(v, "zonewall "+d.newVersion+"\n") {
		t.Errorf("after the upgrade: %s", v)
	}
	tables := mustRun(t, "", "ip", "netns", "exec", ns, "nft", "list", "tables")
	for _, want := range []string{"table inet zonewall", "table bridge zonewall", "table ip zwtest-r-docker"} {
		if !strings.Contains(tables, want) {
			t.Errorf("the upgrade removed %s; tables now:\n%s", want, tables)
		}
	}
	if readFile(t, "/etc/zonewall/zonewall.yaml") != edited {
		t.Errorf("the upgrade replaced the operator's edited configuration")
	}
	if _, err := os.Stat("/var/lib/zonewall/policy.json"); err != nil {
		t.Errorf("the upgrade lost the state: %v", err)
	}

	// --- purge: nothing of ours is left, Docker's table is -----------------
	dpkg(t, ns, "--purge", "zonewall")
	tables = mustRun(t, "", "ip", "netns", "exec", ns, "nft", "list", "tables")
	if strings.Contains(tables, " zonewall") || !strings.Contains(tables, "table ip zwtest-r-docker") {
		t.Errorf("after purge the tables are:\n%s\nwant no zonewall table and table ip zwtest-r-docker kept", tables)
	}
	for _, f := range append(packageFiles(t, d.new), packagePaths...) {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s is left after purge", f)
		}
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "zonewall").CombinedOutput(); len(out) > 0 && !strings.Contains(string(out), "not-installed") && !strings.Contains(string(out), "no packages found") {
		t.Errorf("dpkg still knows zonewall after purge: %s", out)
	}
}

// Removal (without purge) ends enforcement but keeps configuration, zone
// files and state; a purge afterwards removes state and configuration and
// keeps the operator's zone files.
func TestDebRemoveThenPurge(t *testing.T) {
	requireTools(t, true, "dpkg", "dpkg-deb", "dpkg-query", "ip", "nft")
	requireNoZonewallInstalled(t)
	deb := releaseDirDeb(t)
	if deb == "" {
		deb = releaseDeb(t, "0.0.1~zwtest3")
	}
	ns := newNetNS(t)
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "exec", ns, "dpkg", "--purge", "zonewall").Run()
		_ = os.RemoveAll("/etc/zonewall") // the zone file this test kept on purge
	})
	dpkg(t, ns, "-i", deb)
	mustRun(t, "table inet zonewall { }\ntable bridge zonewall { }\n", "ip", "netns", "exec", ns, "nft", "-f", "-")
	zoneFile := "/etc/zonewall/zones.d/10-mine.yaml"
	os.WriteFile(zoneFile, []byte("zones: {}\n"), 0o644)
	os.MkdirAll("/var/lib/zonewall", 0o700)
	os.WriteFile("/var/lib/zonewall/applied.json", []byte(`{"format":1}`), 0o600)

	dpkg(t, ns, "-r", "zonewall")
	if tables := mustRun(t, "", "ip", "netns", "exec", ns, "nft", "list", "tables"); strings.Contains(tables, "zonewall") {
		t.Errorf("removal left the tables:\n%s", tables)
	}
	for _, gone := range []string{"/usr/bin/zonewall", "/lib/systemd/system/zonewall.service"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is left after removal", gone)
		}
	}
	for _, kept := range []string{"/etc/zonewall/zonewall.yaml", zoneFile, "/var/lib/zonewall/applied.json"} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("removal (not purge) lost %s: %v", kept, err)
		}
	}

	out := dpkg(t, ns, "--purge", "zonewall")
	if !strings.Contains(out, "kept your files in /etc/zonewall") {
		t.Errorf("purge should say it kept the zone files:\n%s", out)
	}
	if readFile(t, zoneFile) != "zones: {}\n" {
		t.Errorf("purge touched the operator's zone file")
	}
	for _, gone := range []string{"/etc/zonewall/zonewall.yaml", "/var/lib/zonewall", "/run/zonewall"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s is left after purge", gone)
		}
	}
}
