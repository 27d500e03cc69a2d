package deploy

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// installation is deploy/install.sh pointed at temporary directories and
// run inside a throwaway network namespace, so that its nft calls (table
// removal) and the daemon it starts never touch the host's tables.
type installation struct {
	t                                        *testing.T
	netns                                    string
	root, prefix, etc, unit, state, run, log string
	binary                                   string   // --binary; "" lets install.sh build
	systemd                                  string   // --no-systemd or --systemd
	env                                      []string // extra environment of install.sh
}

func newInstallation(t *testing.T) *installation {
	t.Helper()
	requireTools(t, true, "ip", "nft")
	root := t.TempDir()
	in := &installation{
		t: t, netns: newNetNS(t), root: root,
		prefix: filepath.Join(root, "usr"), etc: filepath.Join(root, "etc"), unit: filepath.Join(root, "unit"),
		state: filepath.Join(root, "state"), run: filepath.Join(root, "run"), log: filepath.Join(root, "log", "zonewall.log"),
		binary: zonewallBin, systemd: "--no-systemd",
		// No Docker: install.sh sees no running containers (the host's
		// shared dockerd must not decide audit or enforce here).
		env: []string{"DOCKER_HOST=unix://" + filepath.Join(root, "no-docker.sock")},
	}
	// Whatever a test leaves running is stopped by PID.
	t.Cleanup(in.killDaemon)
	return in
}

func (in *installation) script(args ...string) result {
	in.t.Helper()
	full := append([]string{"netns", "exec", in.netns, "env"}, in.env...)
	full = append(full, filepath.Join(repo, "deploy", "install.sh"),
		in.systemd, "--prefix", in.prefix, "--etc-dir", in.etc, "--unit-dir", in.unit,
		"--state-dir", in.state, "--run-dir", in.run, "--log-file", in.log)
	if in.binary != "" {
		full = append(full, "--binary", in.binary)
	}
	full = append(full, args...)
	return runCmd(in.t, "", "ip", full...)
}

func (in *installation) mustScript(args ...string) string {
	in.t.Helper()
	r := in.script(args...)
	if r.code != 0 {
		in.t.Fatalf("install.sh %s: exit %d\n%s", strings.Join(args, " "), r.code, r.out)
	}
	return r.out
}

func (in *installation) nft(args ...string) string {
	in.t.Helper()
	return mustRun(in.t, "", "ip", append([]string{"netns", "exec", in.netns, "nft"}, args...)...)
}

func (in *installation) pidFile() string { return filepath.Join(in.run, "zonewall.pid") }

func (in *installation) pid() int {
	b, err := os.ReadFile(in.pidFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (in *installation) killDaemon() {
	if pid := in.pid(); pid > 0 && processIsZonewall(pid) {
		_ = killPID(pid)
	}
}

func killPID(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

func processIsZonewall(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(b), "zonewall")
}

func (in *installation) bin() string { return filepath.Join(in.prefix, "bin", "zonewall") }

// writeConfig pre-seeds the configuration: install.sh must keep it. Docker
// is pointed at a socket that does not exist, so a daemon started by a test
// never reads (or acts on) the real Docker's containers.
func (in *installation) writeConfig() {
	in.t.Helper()
	cfg := "zones_dir: " + filepath.Join(in.etc, "zones.d") + "\n" +
		"docker_host: unix://" + filepath.Join(in.root, "no-docker.sock") + "\n" +
		"socket: " + filepath.Join(in.run, "zonewall.sock") + "\n" +
		"state_dir: " + in.state + "\n" +
		"nflog_group: 7001\n"
	if err := os.MkdirAll(in.etc, 0o755); err != nil {
		in.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.etc, "zonewall.yaml"), []byte(cfg), 0o644); err != nil {
		in.t.Fatal(err)
	}
}

func TestInstallNoStartThenUninstall(t *testing.T) {
	in := newInstallation(t)
	out := in.mustScript("--example", "--no-start")
	if !strings.Contains(out, "files, 4 zones") || !strings.Contains(out, ": ok") {
		t.Errorf("install did not check the zone files:\n%s", out)
	}

	// Binary, unit, configuration with this installation's paths, examples.
	if st, err := os.Stat(in.bin()); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("binary: %v %v", st, err)
	}
	if v := mustRun(t, "", in.bin(), "version"); !strings.HasPrefix(v, "zonewall ") {
		t.Errorf("installed binary: %q", v)
	}
	unit := readFile(t, filepath.Join(in.unit, "zonewall.service"))
	if !strings.Contains(unit, "\nExecStart="+in.bin()+" --config "+filepath.Join(in.etc, "zonewall.yaml")+" run\n") {
		t.Errorf("unit ExecStart not rewritten for the prefix:\n%s", unit)
	}
	cfg := readFile(t, filepath.Join(in.etc, "zonewall.yaml"))
	for _, line := range []string{
		"zones_dir: " + filepath.Join(in.etc, "zones.d"),
		"socket: " + filepath.Join(in.run, "zonewall.sock"),
		"state_dir: " + in.state,
		"nflog_group: 7001",
	} {
		if !strings.Contains(cfg, "\n"+line+"\n") {
			t.Errorf("config lacks %q:\n%s", line, cfg)
		}
	}
	examples, _ := filepath.Glob(filepath.Join(repo, "deploy", "examples", "zones.d", "*.yaml"))
	if len(examples) == 0 {
		t.Fatal("no example zone files in the checkout")
	}
	for _, ex := range examples {
		if got := readFile(t, filepath.Join(in.etc, "zones.d", filepath.Base(ex))); got != readFile(t, ex) {
			t.Errorf("%s not installed verbatim", filepath.Base(ex))
		}
	}
	if exists(in.pidFile()) {
		t.Error("--no-start started a daemon")
	}

	// Re-running is safe and keeps the operator's edited configuration.
	edited := cfg + "metrics_listen: 127.0.0.1:9477\n"
	if err := os.WriteFile(filepath.Join(in.etc, "zonewall.yaml"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out = in.mustScript("--example", "--no-start")
	if got := readFile(t, filepath.Join(in.etc, "zonewall.yaml")); got != edited || !strings.Contains(out, "keeping existing") {
		t.Errorf("re-install replaced the operator's configuration:\n%s", out)
	}

	// Uninstall removes only zonewall's tables: a stand-in for Docker's
	// iptables-nft table survives.
	in.nft("add", "table", "inet", "zonewall")
	in.nft("add", "table", "bridge", "zonewall")
	mustRun(t, "table ip filter {\n chain DOCKER-USER {\n  counter return\n }\n}\n", "ip", "netns", "exec", in.netns, "nft", "-f", "-")
	out = in.mustScript("--uninstall")
	for _, f := range []string{in.bin(), filepath.Join(in.unit, "zonewall.service")} {
		if exists(f) {
			t.Errorf("%s still there after --uninstall", f)
		}
	}
	for _, f := range []string{filepath.Join(in.etc, "zonewall.yaml"), filepath.Join(in.etc, "zones.d", filepath.Base(examples[0]))} {
		if !exists(f) {
			t.Errorf("%s removed without --purge", f)
		}
	}
	tables := in.nft("list", "tables")
	if strings.Contains(tables, "zonewall") || !strings.Contains(tables, "table ip filter") {
		t.Errorf("after uninstall the namespace has:\n%s\nwant only table ip filter\n(install.sh said:\n%s)", tables, out)
	}
	if rules := in.nft("list", "chain", "ip", "filter", "DOCKER-USER"); !strings.Contains(rules, "counter") {
		t.Errorf("the stand-in Docker chain lost its rule:\n%s", rules)
	}

	// Uninstalling again is a no-op; --purge then removes config and state.
	in.mustScript("--uninstall")
	in.mustScript("--uninstall", "--purge")
	if exists(in.etc) {
		t.Errorf("%s still there after --purge", in.etc)
	}
}

func TestInstallKeepsChangedZoneFilesWithoutForce(t *testing.T) {
	in := newInstallation(t)
	in.mustScript("--example", "--no-start")
	examples, _ := filepath.Glob(filepath.Join(in.etc, "zones.d", "*.yaml"))
	mine := "# the operator's own edit\n" + readFile(t, examples[0])
	if err := os.WriteFile(examples[0], []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	r := in.script("--example", "--no-start")
	if r.code == 0 || !strings.Contains(r.out, "--force") {
		t.Errorf("install --example over an edited zone file: exit %d\n%s", r.code, r.out)
	}
	if readFile(t, examples[0]) != mine {
		t.Fatal("the edited zone file was overwritten without --force")
	}
	in.mustScript("--example", "--no-start", "--force")
	if readFile(t, examples[0]) == mine {
		t.Error("--force did not restore the example")
	}
}

func TestInstallRefusesToStartInvalidZones(t *testing.T) {
	in := newInstallation(t)
	in.writeConfig()
	zonesDir := filepath.Join(in.etc, "zones.d")
	if err := os.MkdirAll(zonesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "zones:\n  web:\n    members:\n      - name: web\nflows:\n  - from: web\n    to: apii\n"
	if err := os.WriteFile(filepath.Join(zonesDir, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	r := in.script()
	if r.code == 0 || !strings.Contains(r.out, `unknown zone "apii"`) || !strings.Contains(r.out, "not starting") {
		t.Errorf("install with an invalid zone file: exit %d\n%s", r.code, r.out)
	}
	if exists(in.pidFile()) {
		t.Error("a daemon was started on an invalid policy")
	}
}

// Deny by default: with no zone files every container would be cut off,
// so install.sh installs but does not start.
func TestInstallWithoutZonesDoesNotStart(t *testing.T) {
	in := newInstallation(t)
	in.writeConfig()
	out := in.mustScript()
	if !strings.Contains(out, "no zone files") || exists(in.pidFile()) {
		t.Errorf("install without zone files started zonewall or did not say why not:\n%s", out)
	}
}

// The full cycle without systemd: start `zonewall run` in the background,
// wait for `status`, then uninstall stops it by its PID file.
func TestInstallStartsAndUninstallStopsTheDaemon(t *testing.T) {
	in := newInstallation(t)
	in.writeConfig()
	out := in.mustScript("--example")
	pid := in.pid()
	if pid == 0 || !processIsZonewall(pid) {
		t.Fatalf("no running daemon after install (pid %d):\n%s\nlog:\n%s", pid, out, readLog(in.log))
	}
	if !strings.Contains(out, "mode:") || !strings.Contains(out, "enforce") {
		t.Errorf("install did not print the daemon's status:\n%s", out)
	}
	// It serves the socket of the installed configuration.
	// Docker is unreachable here, so status answers and exits 1 (degraded).
	status := runCmd(t, "", "ip", "netns", "exec", in.netns, in.bin(), "--config", filepath.Join(in.etc, "zonewall.yaml"), "status")
	if !strings.Contains(status.out, "mode:") || (status.code != 0 && !strings.Contains(status.out, "docker unreachable")) {
		t.Errorf("status: exit %d\n%s", status.code, status.out)
	}

	// Installing again restarts the daemon (a new binary must run).
	in.mustScript("--example")
	pid2 := in.pid()
	if pid2 == pid || !processIsZonewall(pid2) {
		t.Errorf("re-install: pid %d -> %d, want a new running daemon", pid, pid2)
	}
	if processIsZonewall(pid) {
		t.Errorf("the old daemon (pid %d) still runs after re-install", pid)
	}

	in.nft("add", "table", "inet", "zonewall")
	in.mustScript("--uninstall")
	deadline := time.Now().Add(5 * time.Second)
	for processIsZonewall(pid2) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if processIsZonewall(pid2) {
		t.Errorf("daemon pid %d still runs after --uninstall", pid2)
	}
	if exists(in.run) {
		t.Errorf("%s (socket, PID file) still there", in.run)
	}
	if tables := in.nft("list", "tables"); strings.Contains(tables, "zonewall") {
		t.Errorf("tables left after uninstall:\n%s", tables)
	}
}

func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// Without --binary, install.sh builds zonewall from the checkout with Go.
func TestInstallBuildsFromCheckout(t *testing.T) {
	in := newInstallation(t)
	in.binary = ""
	out := in.mustScript("--no-start")
	if !strings.Contains(out, "building zonewall") {
		t.Errorf("install.sh did not build:\n%s", out)
	}
	if v := mustRun(t, "", in.bin(), "version"); !strings.HasPrefix(v, "zonewall ") {
		t.Errorf("built binary: %q", v)
	}
}
