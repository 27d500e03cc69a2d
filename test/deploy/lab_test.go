package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func shellScripts(t *testing.T) []string {
	t.Helper()
	scripts, _ := filepath.Glob(filepath.Join(repo, "deploy", "lab", "*.sh"))
	scripts = append(scripts, filepath.Join(repo, "deploy", "install.sh"))
	if len(scripts) < 5 {
		t.Fatalf("expected install.sh and the lab scripts, found %v", scripts)
	}
	return scripts
}

func TestShellScriptsParse(t *testing.T) {
	for _, s := range shellScripts(t) {
		if r := runCmd(t, "", "bash", "-n", s); r.code != 0 {
			t.Errorf("bash -n %s:\n%s", s, r.out)
		}
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck not installed: only bash -n was run")
		return
	}
	args := append([]string{"-x", "-P", "SCRIPTDIR"}, shellScripts(t)...)
	if r := runCmd(t, "", "shellcheck", args...); r.code != 0 {
		t.Errorf("shellcheck:\n%s", r.out)
	}
}

// vagrant validate parses the Vagrantfile without a provider or a box: as
// users run it, and as boot-lab.sh --vagrant does (the lab's own box, TCG,
// prebuilt binaries).
func TestVagrantfileValidates(t *testing.T) {
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Skip("vagrant not installed (apt-get install vagrant)")
	}
	for name, env := range map[string][]string{
		"defaults": nil,
		"boot-lab": {"ZW_LAB_BOX=zonewall/debian12", "ZW_LAB_LIBVIRT_DRIVER=qemu",
			"ZW_LAB_PREBUILT=" + t.TempDir(), "ZW_LAB_HOST_MEMORY=3072", "ZW_LAB_WORLD_MEMORY=512",
			"ZW_LAB_BOOT_TIMEOUT=900"},
		"bad memory": {"ZW_LAB_HOST_MEMORY=lots"},
	} {
		cmd := exec.Command("vagrant", "validate")
		cmd.Dir = repo
		// Vagrant's per-project state goes to a temporary directory, not the checkout.
		cmd.Env = append(os.Environ(), "VAGRANT_DOTFILE_PATH="+t.TempDir(), "VAGRANT_CHECKPOINT_DISABLE=1")
		cmd.Env = append(cmd.Env, env...)
		out, err := cmd.CombinedOutput()
		ok := err == nil && strings.Contains(string(out), "validated successfully")
		if want := name != "bad memory"; ok != want {
			t.Errorf("%s: vagrant validate: %v (want success: %v)\n%s", name, err, want, out)
		}
	}
}

// run-e2e.sh --test-binary runs a prebuilt suite (the lab's VMs have no Go)
// from the package directory, with the zonewall binary it is to test.
func TestRunE2EPrebuiltDryRun(t *testing.T) {
	dir := t.TempDir()
	testBin := filepath.Join(dir, "e2e.test")
	if err := os.WriteFile(testBin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repo, "deploy", "lab", "run-e2e.sh")
	r := runCmd(t, "", script, "--dry-run", "--test-binary", testBin, "--zonewall", "/opt/zw", "--run", "TestWorld")
	if r.code != 0 {
		t.Fatalf("run-e2e.sh --dry-run --test-binary: exit %d\n%s", r.code, r.out)
	}
	want := "+ env ZW_E2E_ZONEWALL=/opt/zw " + testBin +
		" -test.count=1 -test.timeout 60m -test.v -test.run TestWorld"
	if !strings.Contains(r.out, want) {
		t.Errorf("dry run lacks %q:\n%s", want, r.out)
	}
	// The suite takes the Docker lock itself: a flock around it would wait forever.
	if strings.Contains(r.out, "flock") {
		t.Errorf("the suite is run under flock:\n%s", r.out)
	}
	if r := runCmd(t, "", script, "--dry-run", "--test-binary", filepath.Join(dir, "missing")); r.code == 0 {
		t.Errorf("a missing --test-binary passed:\n%s", r.out)
	}
	r = runCmd(t, "", script, "--dry-run")
	if want := "+ go test -count=1 -timeout 20m -v ./test/e2e"; !strings.Contains(r.out, want) {
		t.Errorf("without --test-binary: lacks %q:\n%s", want, r.out)
	}
}

// boot-lab.sh and build-box.sh refuse what they do not understand before
// they touch anything.
func TestLabScriptsRejectBadOptions(t *testing.T) {
	for _, c := range [][]string{
		{"boot-lab.sh", "--bogus"},
		{"boot-lab.sh", "--out"},
		{"build-box.sh", "--size", "ten", "--out", t.TempDir()},
		{"build-box.sh", "--nope"},
	} {
		r := runCmd(t, "", filepath.Join(repo, "deploy", "lab", c[0]), c[1:]...)
		if r.code == 0 || !strings.Contains(r.out, "zw-lab: error:") && !strings.Contains(r.out, "needs a value") {
			t.Errorf("%v: exit %d, want an error\n%s", c, r.code, r.out)
		}
	}
	for _, s := range []string{"boot-lab.sh", "build-box.sh"} {
		if r := runCmd(t, "", filepath.Join(repo, "deploy", "lab", s), "--help"); r.code != 0 || !strings.Contains(r.out, "usage: "+s) {
			t.Errorf("%s --help: exit %d\n%s", s, r.code, r.out)
		}
	}
}

// provision-world.sh, run in a throwaway namespace with its files under a
// temporary prefix, serves the world's documentation addresses.
func TestProvisionWorldServesDocumentationAddresses(t *testing.T) {
	requireTools(t, true, "ip", "busybox")
	ns := newNetNS(t)
	prefix := t.TempDir()
	script := filepath.Join(repo, "deploy", "lab", "provision-world.sh")
	inNS := func(args ...string) result {
		return runCmd(t, "", "ip", append([]string{"netns", "exec", ns}, args...)...)
	}
	t.Cleanup(func() { inNS(script, "--prefix", prefix, "--stop") })
	provision := func() {
		if r := inNS(script, "--prefix", prefix, "--ports", "8080,8081"); r.code != 0 {
			t.Fatalf("provision-world.sh: exit %d\n%s", r.code, r.out)
		}
	}
	provision()
	provision() // idempotent: replaces its servers

	probe := filepath.Join(prefix, "usr", "local", "bin", "zw-lab-probe")
	var last result
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if last = inNS("busybox", "wget", "-q", "-O", "-", "http://203.0.113.10:8080/"); last.code == 0 {
			break
		}
	}
	if !strings.Contains(last.out, "zonewall-lab-world") {
		t.Fatalf("world web server over IPv4: exit %d %q", last.code, last.out)
	}
	if r := inNS("busybox", "wget", "-q", "-O", "-", "http://[2001:db8:113::10]:8081/"); !strings.Contains(r.out, "zonewall-lab-world") {
		t.Errorf("world web server over IPv6: exit %d %q", r.code, r.out)
	}
	if r := inNS(probe, "203.0.113.10", "8081"); r.code != 0 {
		t.Errorf("probe of an open port: exit %d %q", r.code, r.out)
	}
	if r := inNS(probe, "203.0.113.10", "9"); r.code != 1 {
		t.Errorf("probe of a closed port: exit %d %q, want 1", r.code, r.out)
	}

	pidFiles, _ := filepath.Glob(filepath.Join(prefix, "run", "zw-world", "httpd-*.pid"))
	if len(pidFiles) != 2 {
		t.Fatalf("PID files %v, want 2 (one per port)", pidFiles)
	}
	var pids []string
	for _, f := range pidFiles {
		pids = append(pids, strings.TrimSpace(readFile(t, f)))
	}
	if r := inNS(script, "--prefix", prefix, "--stop"); r.code != 0 {
		t.Fatalf("--stop: exit %d\n%s", r.code, r.out)
	}
	for _, pid := range pids {
		deadline := time.Now().Add(3 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("httpd pid %s still runs after --stop", pid)
		}
	}
}

// alive: the process exists and is not a zombie waiting for its reaper.
func alive(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// --dry-run shows every change provision-host.sh would make and makes none.
func TestProvisionHostDryRun(t *testing.T) {
	requireTools(t, false, "ip")
	before := mustRun(t, "", "ip", "route", "show", "203.0.113.0/24")
	r := runCmd(t, "", filepath.Join(repo, "deploy", "lab", "provision-host.sh"), "--dry-run", "--world-ip", "192.0.2.20", "--src", repo)
	if r.code != 0 {
		t.Fatalf("provision-host.sh --dry-run: exit %d\n%s", r.code, r.out)
	}
	for _, want := range []string{
		"+ ip route replace 203.0.113.0/24 via 192.0.2.20",
		"+ " + filepath.Join(repo, "deploy", "install.sh") + " --example",
		"host ready",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "--binary") {
		t.Errorf("dry run without --binary installs a prebuilt binary:\n%s", r.out)
	}
	// With a prebuilt binary (the lab's VMs): no Go, and install.sh gets it.
	r = runCmd(t, "", filepath.Join(repo, "deploy", "lab", "provision-host.sh"), "--dry-run", "--src", repo, "--binary", "/opt/zw/zonewall")
	for _, want := range []string{
		"Go: not needed (--binary /opt/zw/zonewall)",
		"+ " + filepath.Join(repo, "deploy", "install.sh") + " --example --enforce --binary /opt/zw/zonewall",
	} {
		if r.code != 0 || !strings.Contains(r.out, want) {
			t.Errorf("--binary dry run: exit %d, lacks %q:\n%s", r.code, want, r.out)
		}
	}
	if strings.Contains(r.out, "go.dev") {
		t.Errorf("--binary dry run still downloads Go:\n%s", r.out)
	}
	if after := mustRun(t, "", "ip", "route", "show", "203.0.113.0/24"); after != before {
		t.Errorf("--dry-run changed the routing table: %q -> %q", before, after)
	}
}
