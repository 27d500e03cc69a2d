package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serverCmd makes a container listen on the TCP ports every test probes:
// each accepted connection runs `true`, which closes it at once. It stops on
// SIGTERM (a shell as PID 1 ignores it otherwise): containers that outlive
// dockerd's shutdown timeout make it force its shutdown, after which Docker
// 29's nftables backend failed to restart a container on two networks
// ("DROP DIRECT ACCESS ... rule exists").
const serverCmd = `trap 'exit 0' TERM; for p in 80 443 5432 8080 9999; do nc -ll -p $p -e true & done; sleep 100000 & wait`

// sh runs a command and returns its combined output.
func sh(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := sh(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func splitFields(s string) []string { return strings.Fields(s) }

// buildImage imports zwtest/busybox:1 from the host's static busybox.
func buildImage(tmp string) error {
	if exec.Command("docker", "image", "inspect", image).Run() == nil {
		return nil
	}
	root := filepath.Join(tmp, "img")
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if _, err := sh("cp", "/bin/busybox", bin); err != nil {
		return err
	}
	for _, a := range []string{"sh", "nc", "ping", "wget", "ip", "sleep", "httpd", "cat", "true"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			return err
		}
	}
	_, err := sh("sh", "-c", fmt.Sprintf("tar -C %s -c . | docker import - %s", root, image))
	return err
}

func removeContainers(nameRegexp string) {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name="+nameRegexp).Output()
	if ids := splitFields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}

// server starts a detached container running serverCmd; extra are docker
// run options (--network, --label, -p, --ip ...). It is removed at cleanup
// unless keep is set (containers shared by several tests).
func server(t *testing.T, name string, extra ...string) {
	t.Helper()
	args := append([]string{"run", "-d", "--name", name}, extra...)
	args = append(args, image, "sh", "-c", serverCmd)
	must(t, "docker", args...)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", name).Run() })
}

// sharedServer is server for containers that live for the whole suite.
func sharedServer(name string, extra ...string) error {
	args := append([]string{"run", "-d", "--restart", "always", "--name", name}, extra...)
	args = append(args, image, "sh", "-c", serverCmd)
	_, err := sh("docker", args...)
	return err
}

// addrs returns a container's IPv4 and IPv6 address on a network.
func addrs(t *testing.T, name, network string) (v4, v6 string) {
	t.Helper()
	format := fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}} {{.GlobalIPv6Address}}{{end}}`, network)
	var out string
	for range 50 { // a just-started container may not show its addresses yet
		out = must(t, "docker", "inspect", "-f", format, name)
		if f := splitFields(out); len(f) == 2 {
			return f[0], f[1]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s has no IPv4+IPv6 address on %s: %q", name, network, out)
	return "", ""
}

func v4(t *testing.T, name, network string) string { a, _ := addrs(t, name, network); return a }
func v6(t *testing.T, name, network string) string { _, a := addrs(t, name, network); return a }

// waitRunning waits until a container runs (after dockerd restarts).
func waitRunning(t *testing.T, name string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, _ := sh("docker", "inspect", "-f", "{{.State.Running}}", name)
		if out == "true" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not running after %v", name, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
