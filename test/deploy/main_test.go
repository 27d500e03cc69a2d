// Package deploy tests the operator-facing files in deploy/: the systemd
// unit, deploy/install.sh, the Debian package and its maintainer scripts,
// the lab provisioning scripts and the Vagrantfile.
//
// Everything runs against temporary directories and throwaway network
// namespaces named zwtest-o-*: no test writes to /etc, /usr/local or the
// host's nftables tables. The exception is the Debian package (deb_test.go),
// which dpkg can only install to its real paths: those tests refuse to run
// where zonewall is installed, run dpkg inside a throwaway namespace, and
// purge the package again.
package deploy

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repo is the checkout's root; zonewallBin a binary built from it.
var repo, zonewallBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repo = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir, err := os.MkdirTemp("", "zwtest-o-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	zonewallBin = filepath.Join(dir, "zonewall")
	build := exec.Command(goTool(), "build", "-o", zonewallBin, "./cmd/zonewall")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build zonewall: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// requireTools skips (or, with ZW_REQUIRE_PRIV=1, fails) a test that needs
// root or commands that are missing.
func requireTools(t *testing.T, root bool, tools ...string) {
	t.Helper()
	var missing []string
	if root && os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
		t.Fatalf("needs %s (ZW_REQUIRE_PRIV=1)", strings.Join(missing, ", "))
	}
	t.Skipf("needs %s", strings.Join(missing, ", "))
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNetNS creates a throwaway network namespace, removed at cleanup.
func newNetNS(t *testing.T) string {
	t.Helper()
	name := "zwtest-o-" + randomID()
	mustRun(t, "", "ip", "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", name).Run() })
	mustRun(t, "", "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// result is a finished command.
type result struct {
	out  string // stdout and stderr
	code int
}

func runCmd(t *testing.T, stdin string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return result{out: string(out), code: code}
}

func mustRun(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	r := runCmd(t, stdin, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), r.code, r.out)
	}
	return r.out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
