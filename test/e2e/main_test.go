package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/zonewall/zonewall/test/dockerlock"
)

// Names and addresses this suite owns.
const (
	prefix    = "zwtest-e"
	image     = "zwtest/busybox:1"
	netFront  = prefix + "-front"
	netBack   = prefix + "-back"
	lockFile  = "/tmp/zwtest-docker.lock"
	frontV4   = "10.231.1.0/24"
	frontV6   = "fd00:231:1::/64"
	backV4    = "10.231.2.0/24"
	backV6    = "fd00:231:2::/64"
	nflogGrp  = "7231"
	zonesFile = "tiers.yaml"
	keptLog   = "/tmp/zwtest-e-daemon.log"
)

// suite is the state every test shares: one binary, one topology and (at
// most) one daemon at a time.
var suite struct {
	bin     string // the zonewall binary under test
	tmp     string
	skipWhy string // non-empty: prerequisites are missing and tests skip
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if why := missingPrerequisite(); why != "" {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			fmt.Fprintf(os.Stderr, "e2e: %s (ZW_REQUIRE_PRIV=1: failing instead of skipping)\n", why)
			return 1
		}
		suite.skipWhy = why
		return m.Run() // every test skips through requireSuite
	}
	release, err := dockerlock.Acquire(lockFile, func() { fmt.Fprintf(os.Stderr, "e2e: waiting for %s\n", lockFile) })
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: lock: %v\n", err)
		return 1
	}
	defer release()

	// Temp dirs of crashed runs (we hold the lock: no other run is active).
	if old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"-[0-9]*")); len(old) > 0 {
		for _, d := range old {
			_ = os.RemoveAll(d)
		}
	}
	suite.tmp, err = os.MkdirTemp("", prefix+"-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(suite.tmp)
	// Keep the daemon's log for a post-mortem (the temp dir goes away).
	defer func() {
		if b, err := os.ReadFile(filepath.Join(suite.tmp, "daemon.log")); err == nil {
			_ = os.WriteFile(keptLog, b, 0o644)
			fmt.Fprintf(os.Stderr, "e2e: daemon log kept in %s\n", keptLog)
		}
	}()

	removeEverything() // leftovers of a crashed earlier run
	defer removeEverything()

	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: setup: %v\n", err)
		return 1
	}
	return m.Run()
}

func missingPrerequisite() string {
	if os.Geteuid() != 0 {
		return "needs root"
	}
	for _, tool := range []string{"docker", "nft", "ip", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "needs " + tool
		}
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		return "docker daemon not reachable"
	}
	return ""
}

// requireSuite skips (or fails, see TestMain) when prerequisites are missing.
func requireSuite(t *testing.T) {
	t.Helper()
	if suite.skipWhy != "" {
		t.Skip(suite.skipWhy)
	}
}

func setup() error {
	if err := buildZonewall(); err != nil {
		return err
	}
	if err := buildImage(suite.tmp); err != nil {
		return err
	}
	for _, n := range [][]string{{netFront, frontV4, frontV6}, {netBack, backV4, backV6}} {
		if _, err := sh("docker", "network", "create", "--ipv6", "--subnet", n[1], "--subnet", n[2], n[0]); err != nil {
			return err
		}
	}
	return createWorld()
}

// buildZonewall builds the binary under test, or copies the one named by
// ZW_E2E_ZONEWALL: the lab's VMs run a prebuilt test binary and have no Go.
func buildZonewall() error {
	suite.bin = filepath.Join(suite.tmp, "zonewall")
	if prebuilt := os.Getenv("ZW_E2E_ZONEWALL"); prebuilt != "" {
		if out, err := exec.Command("cp", prebuilt, suite.bin).CombinedOutput(); err != nil {
			return fmt.Errorf("ZW_E2E_ZONEWALL: %w\n%s", err, out)
		}
		return nil
	}
	build := exec.Command("go", "build", "-o", suite.bin, "./cmd/zonewall")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build zonewall: %w\n%s", err, out)
	}
	return nil
}

// removeEverything deletes, by name, all this suite may have created.
func removeEverything() {
	stopDaemon()
	killRecorded()
	removeContainers("^" + prefix)
	out, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "name=^"+prefix).Output()
	for _, id := range splitFields(string(out)) {
		_ = exec.Command("docker", "network", "rm", id).Run()
	}
	removeWorld()
	deleteTables()
}

// deleteTables removes the daemon's tables (they outlive a killed daemon by
// design) so the next holder of the lock starts clean.
func deleteTables() {
	for _, tbl := range [][]string{{"inet", "zonewall"}, {"bridge", "zonewall"}, {"inet", "zonewall_dns"}} {
		_ = exec.Command("nft", "delete", "table", tbl[0], tbl[1]).Run()
	}
}
