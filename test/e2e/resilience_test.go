package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A few checks that must hold whatever happens to the daemon.
func checkCore(t *testing.T, within time.Duration) {
	t.Helper()
	expect(t, web1, within,
		allow("web -> api", v4(t, api1, netFront), "8080"),
		allow("web -> api v6", v6(t, api1, netFront), "8080"),
		deny("web -> api tcp/9999", v4(t, api1, netFront), "9999"))
	expect(t, stray, within,
		deny("unzoned -> api", v4(t, api1, netFront), "8080"),
		deny("unzoned -> db", v6(t, db1, netBack), "5432"))
}

// SIGKILL leaves the ruleset in place; a new daemon takes over and
// classifies containers started after it.
func TestDaemonKilledEnforcementStays(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	checkCore(t, 10*time.Second)
	killDaemon()
	checkCore(t, 0) // no waiting: the kernel must still enforce
	startDaemon(t)
	web := prefix + "-web-after-restart"
	server(t, web, "--network", netFront, "--label", "zwtest.tier=web")
	expect(t, web, 10*time.Second,
		allow("new web -> api after daemon restart", v4(t, api1, netFront), "8080"),
		deny("new web -> unzoned after daemon restart", v4(t, stray, netFront), "8080"))
	checkCore(t, 0)
}

// Deleting the table by hand is repaired within about a second.
func TestDeletedTableIsRepaired(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	checkCore(t, 10*time.Second)
	must(t, "nft", "delete", "table", "inet", "zonewall")
	start := time.Now()
	for !tableExists("inet", "zonewall") {
		if time.Since(start) > 5*time.Second {
			t.Fatal("table inet zonewall not restored within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("table inet zonewall restored %v after its deletion", took)
	if took > 2*time.Second {
		t.Errorf("repair took %v, want about 1 s", took)
	}
	checkCore(t, 5*time.Second)
}

// tableExists asks the kernel whether the table exists (listing only the
// table's name: some nft versions cannot print every expression).
func tableExists(family, name string) bool {
	out, err := exec.Command("nft", "-j", "list", "tables", family).Output()
	return err == nil && strings.Contains(string(out), `"name": "`+name+`"`)
}

// Restarting dockerd: containers come back (restart always) with new veths,
// and the daemon, reconnected, keeps enforcing. It stops this machine's
// dockerd, so it runs only under test/run-all (ZW_REQUIRE_PRIV=1) or when
// ZW_E2E_RESTART_DOCKERD=1.
func TestDockerdRestart(t *testing.T) {
	requireSuite(t)
	if os.Getenv("ZW_REQUIRE_PRIV") != "1" && os.Getenv("ZW_E2E_RESTART_DOCKERD") != "1" {
		t.Skip("restarts dockerd: set ZW_E2E_RESTART_DOCKERD=1 (test/run-all runs it)")
	}
	ensurePolicyDaemon(t)
	checkCore(t, 10*time.Second)

	// The same binary with the same flags and environment (Debian's Docker
	// 20.10, or Docker 29 with its own data root and firewall backend).
	before, err := runningDockerd()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restarting dockerd %d: %s %s", before.PID, before.Exe, strings.Join(before.Args, " "))
	if err := before.stop(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	pid, err := before.startAgain()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dockerd restarted as pid %d", pid)
	for start := time.Now(); exec.Command("docker", "info").Run() != nil; time.Sleep(500 * time.Millisecond) {
		if time.Since(start) > 60*time.Second {
			t.Fatal("dockerd not answering 60 s after restart")
		}
	}
	after, err := runningDockerd()
	if err != nil {
		t.Fatal(err)
	}
	if after.PID != pid || !before.sameCommand(after) {
		t.Fatalf("the dockerd that answers (pid %d: %s %q) is not the one restarted (pid %d: %s %q)",
			after.PID, after.Exe, after.Args, pid, before.Exe, before.Args)
	}
	for _, c := range []string{web1, api1, db1, db2, stray} {
		waitRunning(t, c, 60*time.Second)
	}
	waitApplied(t, 30*time.Second)
	checkCore(t, 15*time.Second)
	expect(t, api1, 10*time.Second, allow("api -> db after dockerd restart", v4(t, db1, netBack), "5432"))
}
