package deploy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With exactly the unit's capabilities, the daemon in the host's network
// namespace maps a real container to its veth (no "no-veth" finding). The
// same run without CAP_SYS_ADMIN shows whether that capability is still
// needed (logged, not asserted: deploy/README.md's table says it is).
//
// It programs the host's tables, so it holds /tmp/zwtest-docker.lock and
// deletes inet/bridge zonewall before releasing it.
func TestUnitCapabilitiesFindContainerVeths(t *testing.T) {
	requireTools(t, true, "setpriv", "docker", "nft", "busybox")
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			t.Fatalf("docker is not running (ZW_REQUIRE_PRIV=1)")
		}
		t.Skip("docker is not running")
	}
	lock, err := os.OpenFile("/tmp/zwtest-docker.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	waitStart := time.Now()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Logf("waited %v for /tmp/zwtest-docker.lock", time.Since(waitStart).Round(time.Millisecond))
	// Cleanups run last-in first-out: the lock is released after the
	// tables, the container and the network are gone.
	t.Cleanup(func() {
		_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		lock.Close()
	})
	t.Cleanup(func() {
		for _, fam := range []string{"inet", "bridge"} {
			_ = exec.Command("nft", "delete", "table", fam, "zonewall").Run()
		}
	})

	id := randomID()
	image := "zwtest-o/busybox:" + id
	buildImage(t, image)
	network := "zwtest-o-net-" + id
	var created bool
	for i := 0; i < 5 && !created; i++ {
		subnet := fmt.Sprintf("10.%d.%d.0/24", 200+rand.IntN(50), rand.IntN(256))
		created = exec.Command("docker", "network", "create", "--subnet", subnet, network).Run() == nil
	}
	if !created {
		t.Fatal("docker network create failed for 5 random subnets")
	}
	t.Cleanup(func() { _ = exec.Command("docker", "network", "rm", network).Run() })
	container := "zwtest-o-web-" + id
	mustRun(t, "", "docker", "run", "-d", "--name", container, "--network", network, image, "sleep", "300")
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", container).Run() })

	findings := func(bounding string) []string {
		t.Helper()
		dir, conf := writeDaemonConfig(t, "")
		cmd := exec.Command("setpriv", "--bounding-set", bounding, "--inh-caps=-all", "--no-new-privs", zonewallBin, "--config", conf, "run")
		logPath := filepath.Join(dir, "zonewall.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer logFile.Close()
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}()
		var st struct {
			Synced    bool `json:"synced"`
			LastApply *struct {
				Error string `json:"error"`
			} `json:"last_apply"`
			Reported []struct {
				Kind      string `json:"kind"`
				Container string `json:"container"`
			} `json:"reported"`
		}
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			r := runCmd(t, "", zonewallBin, "--config", conf, "status", "--json")
			if r.code == 0 && json.Unmarshal([]byte(r.out), &st) == nil && st.Synced && st.LastApply != nil && st.LastApply.Error == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("daemon (%s) not synced and applied after 15 s: %s\nlog:\n%s", bounding, r.out, readLog(logPath))
			}
		}
		// A veth found a moment after the first apply is fine; give it a second.
		time.Sleep(time.Second)
		r := runCmd(t, "", zonewallBin, "--config", conf, "status", "--json")
		if err := json.Unmarshal([]byte(r.out), &st); err != nil {
			t.Fatalf("status --json: %v\n%s", err, r.out)
		}
		var ours []string
		for _, f := range st.Reported {
			if f.Container == container {
				ours = append(ours, f.Kind)
			}
		}
		return ours
	}

	unitSet := unitCapabilities(t)
	if got := findings(unitSet); len(got) != 0 {
		t.Errorf("with the unit's capabilities (%s) the container is reported: %v", unitSet, got)
	}
	withoutSysAdmin := strings.Replace(unitSet, ",+sys_admin", "", 1)
	got := findings(withoutSysAdmin)
	t.Logf("without CAP_SYS_ADMIN (%s) the container is reported: %v", withoutSysAdmin, got)
}

// buildImage makes a busybox image from the host's static busybox (no image
// can be pulled here), removed at cleanup.
func buildImage(t *testing.T, tag string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "cp", busybox, filepath.Join(bin, "busybox"))
	for _, a := range []string{"sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, "", "sh", "-c", "tar -C '"+dir+"' -c . | docker import - "+tag)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
}
