package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// The rollout path of a live host: a compose application runs with
// zonewall in audit mode (nothing dropped, every connection observed);
// `zonewall learn` writes zone files and tests; they pass check and test;
// deployed by swapping a symlink (no SIGHUP), they are enforced: every
// connection the application made still works, anything else is dropped.
// Observations survive a daemon restart, and directory swaps and symlink
// swaps each change the policy three times in a row.
const (
	learnProject   = prefix + "-learn"
	learnSubnet4   = "10.231.47.0/24"
	learnSubnet6   = "fd00:231:47::/64"
	learnGateway   = "10.231.47.1"
	learnHostPort  = "19147"
	learnPublished = "18147"
)

func TestLearnObserveThenEnforce(t *testing.T) {
	requireSuite(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			t.Fatal("needs docker-compose")
		}
		t.Skip("needs docker-compose")
	}
	// Our own daemon, zones and state (the suite's come back afterwards).
	stopDaemon()
	root := t.TempDir()
	if err := daemonDirs(); err != nil {
		t.Fatal(err)
	}
	savedZones, savedState := daemon.zonesDir, daemon.stateDir
	link := filepath.Join(root, "zones.d")
	daemon.zonesDir, daemon.stateDir = link, filepath.Join(root, "state")
	t.Cleanup(func() {
		stopDaemon()
		daemon.zonesDir, daemon.stateDir = savedZones, savedState
	})
	release := func(name string, files map[string]string) string {
		dir := filepath.Join(root, "releases", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, c := range files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	swapLink := func(target string) { // ln -sfn target zones.d
		tmp := link + ".tmp"
		_ = os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	swapLink(release("observe", map[string]string{"00-observe.yaml": "settings:\n  mode: audit\n"}))

	// A service on the host (the containers' gateway) and the application.
	hostSrv := exec.Command("busybox", "nc", "-ll", "-p", learnHostPort, "-e", "true")
	hostSrv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := hostSrv.Start(); err != nil {
		t.Fatal(err)
	}
	recordPID(hostSrv.Process.Pid, hostSrv.Args...)
	t.Cleanup(func() { _ = hostSrv.Process.Kill(); _, _ = hostSrv.Process.Wait() })
	learnCompose(t, root)
	web, api, db := learnProject+"_web_1", learnProject+"_api_1", learnProject+"_db_1"
	network := learnProject + "_default"
	api4, db4 := v4(t, api, network), v4(t, db, network)

	startDaemon(t)
	st := waitStatus(t, 10*time.Second, "in audit mode", func(st control.Status) bool {
		return st.Mode == "audit" && strings.Contains(st.Observing, "conntrack")
	})
	t.Logf("observing: %s", st.Observing)

	// The application's traffic (audit mode: nothing is dropped).
	appTraffic := func(within time.Duration) {
		expect(t, web, within, allow("web -> api tcp/8080", api4, "8080"))
		expect(t, api, within,
			allow("api -> db tcp/5432", db4, "5432"),
			allow("api -> host tcp/"+learnHostPort, learnGateway, learnHostPort),
			allow("api -> world tcp/443", worldIP, "443"))
		deadline := time.Now().Add(within)
		for !fromWorld(worldHostIP, learnPublished) {
			if time.Now().After(deadline) {
				t.Errorf("BLOCKED world -> web's published port %s", learnPublished)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	appTraffic(5 * time.Second)
	waitStatus(t, 10*time.Second, "holding 5 observations", func(st control.Status) bool { return st.Observations.Keys >= 5 })

	learned := filepath.Join(root, "learned")
	learn := func() string {
		t.Helper()
		out, errOut, code := zonewall(t, "learn", "--out", learned)
		if code != 0 {
			t.Fatalf("zonewall learn: exit %d\n%s%s\nlog:\n%s", code, out, errOut, tailLog())
		}
		b, err := os.ReadFile(filepath.Join(learned, "learned.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	first := learn()
	t.Logf("learned.yaml:\n%s", first)

	// Observations survive a restart: the same observations, the same bytes.
	stopDaemon()
	startDaemon(t)
	if again := learn(); again != first {
		t.Errorf("learn after a daemon restart differs:\n%s\nbefore:\n%s", again, first)
	}

	// The proposal passes check and its own tests, offline.
	if out, errOut, code := zonewall(t, "check", learned); code != 0 {
		t.Fatalf("zonewall check %s: exit %d\n%s%s", learned, code, out, errOut)
	}
	testFile := filepath.Join(learned, "tests", "learned-test.yaml")
	if out, errOut, code := runZonewallWith(t, "test", testFile, "--zones-dir", learned); code != 0 || !strings.Contains(out, " 0 failed") {
		t.Fatalf("zonewall test: exit %d\n%s%s", code, out, errOut)
	}

	// Enforce: deploy the learned file by swapping the symlink; no SIGHUP.
	learnedZones := first
	swapLink(release("v1", map[string]string{"50-learned.yaml": learnedZones}))
	enforced := waitStatus(t, 10*time.Second, "enforcing the learned policy", func(st control.Status) bool {
		return st.Mode == "enforce" && st.Policy.Flows >= 4 && st.LastApply != nil && st.LastApply.Error == "" &&
			st.LastApply.At.After(st.Policy.LoadedAt)
	})
	baseFlows := enforced.Policy.Flows
	appTraffic(10 * time.Second)
	// What the application never did is dropped: another peer, another
	// port, another world port, an unzoned container.
	stray := learnProject + "-stray"
	server(t, stray, "--network", network)
	expect(t, web, 0,
		deny("web -> db tcp/5432 (never observed)", db4, "5432"),
		deny("web -> api tcp/9999 (another port)", api4, "9999"))
	expect(t, api, 0, deny("api -> world tcp/8443 (another port)", worldIP, "8443"))
	expect(t, stray, 5*time.Second, deny("unzoned -> api tcp/8080", api4, "8080"))

	// Symlink swaps, three in a row: each adds or removes a web -> db flow.
	webToDB := "flows:\n  - from: web\n    to: db\n    ports: [tcp/5432]\n"
	for i := 1; i <= 3; i++ {
		files := map[string]string{"50-learned.yaml": learnedZones}
		want := baseFlows
		if i%2 == 1 {
			files["60-extra.yaml"] = webToDB
			want++
		}
		swapLink(release(fmt.Sprintf("swap%d", i), files))
		waitStatus(t, 10*time.Second, fmt.Sprintf("reloaded after symlink swap %d", i), func(st control.Status) bool {
			return st.Policy.Flows == want && st.LastApply != nil && st.LastApply.At.After(st.Policy.LoadedAt)
		})
		if i%2 == 1 {
			expect(t, web, 5*time.Second, allow(fmt.Sprintf("web -> db after swap %d", i), db4, "5432"))
		} else {
			expect(t, web, 0, deny(fmt.Sprintf("web -> db after swap %d", i), db4, "5432"))
		}
	}

	// Directory swaps by rename, three in a row: zones_dir is a real
	// directory now (a restart that also proves the observations persist).
	stopDaemon()
	dir := filepath.Join(root, "zones-real")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "50-learned.yaml"), []byte(learnedZones), 0o644); err != nil {
		t.Fatal(err)
	}
	daemon.zonesDir = dir
	startDaemon(t)
	for i := 1; i <= 3; i++ {
		next := filepath.Join(root, fmt.Sprintf("zones-next%d", i))
		if err := os.MkdirAll(next, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(next, "50-learned.yaml"), []byte(learnedZones), 0o644)
		want := baseFlows
		if i%2 == 1 {
			os.WriteFile(filepath.Join(next, "60-extra.yaml"), []byte(webToDB), 0o644)
			want++
		}
		old := filepath.Join(root, fmt.Sprintf("zones-old%d", i))
		if err := os.Rename(dir, old); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(next, dir); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, 10*time.Second, fmt.Sprintf("reloaded after directory swap %d", i), func(st control.Status) bool {
			return st.Policy.Flows == want && st.LastApply != nil && st.LastApply.At.After(st.Policy.LoadedAt)
		})
		if i%2 == 1 {
			expect(t, web, 5*time.Second, allow(fmt.Sprintf("web -> db after dir swap %d", i), db4, "5432"))
		} else {
			expect(t, web, 0, deny(fmt.Sprintf("web -> db after dir swap %d", i), db4, "5432"))
		}
	}
	if out, _, code := zonewall(t, "status"); code != 0 {
		t.Errorf("status exit %d at the end:\n%s", code, out)
	}
}

// runZonewallWith runs a command without the daemon's global flags other
// than those given (zonewall test takes --zones-dir itself).
func runZonewallWith(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var o, e strings.Builder
	cmd := exec.Command(suite.bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// learnCompose starts the application: web (published to the world), api
// and db, each listening on the suite's server ports.
func learnCompose(t *testing.T, dir string) {
	t.Helper()
	file := filepath.Join(dir, "docker-compose.yml")
	yml := fmt.Sprintf(`version: "2.4"
services:
  web:
    image: %[1]s
    command: ["sh", "-c", %[2]q]
    ports: ["%[3]s:80"]
  api:
    image: %[1]s
    command: ["sh", "-c", %[2]q]
  db:
    image: %[1]s
    command: ["sh", "-c", %[2]q]
networks:
  default:
    enable_ipv6: true
    ipam:
      config:
        - subnet: %[4]s
        - subnet: %[5]s
`, image, strings.ReplaceAll(serverCmd, "$", "$$"), learnPublished, learnSubnet4, learnSubnet6)
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := func(args ...string) (string, error) {
		return sh("docker-compose", append([]string{"-p", learnProject, "-f", file}, args...)...)
	}
	t.Cleanup(func() { _, _ = compose("down", "--timeout", "1") })
	if _, err := compose("up", "-d"); err != nil {
		t.Fatal(err)
	}
}
