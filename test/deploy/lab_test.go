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

// vagrant validate parses the Vagrantfile without a provider or a box.
func TestVagrantfileValidates(t *testing.T) {
	if _, err := exec.LookPath("vagrant"); err != nil {
		t.Skip("vagrant not installed (apt-get install vagrant)")
	}
	cmd := exec.Command("vagrant", "validate")
	cmd.Dir = repo
	// Vagrant's per-project state goes to a temporary directory, not the checkout.
	cmd.Env = append(os.Environ(), "VAGRANT_DOTFILE_PATH="+t.TempDir(), "VAGRANT_CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "validated successfully") {
		t.Fatalf("vagrant validate: %v\n%s", err, out)
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
	if after := mustRun(t, "", "ip", "route", "show", "203.0.113.0/24"); after != before {
		t.Errorf("--dry-run changed the routing table: %q -> %q", before, after)
	}
}
