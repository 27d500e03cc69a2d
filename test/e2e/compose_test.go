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

const composeProject = prefix + "-shop"

// A docker-compose project's services map to zones via compose selectors.
func TestComposeServices(t *testing.T) {
	requireSuite(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			t.Fatal("needs docker-compose")
		}
		t.Skip("needs docker-compose")
	}
	ensurePolicyDaemon(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "docker-compose.yml")
	yml := fmt.Sprintf(`version: "2.4"
services:
  front:
    image: %[1]s
    command: ["sh", "-c", %[2]q]
  back:
    image: %[1]s
    command: ["sh", "-c", %[2]q]
networks:
  default:
    enable_ipv6: true
    ipam:
      config:
        - subnet: 10.231.5.0/24
        - subnet: fd00:231:5::/64
`, image, strings.ReplaceAll(serverCmd, "$", "$$")) // $$: compose interpolates $VAR
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	compose := func(args ...string) (string, error) {
		return sh("docker-compose", append([]string{"-p", composeProject, "-f", file}, args...)...)
	}
	t.Cleanup(func() { _, _ = compose("down", "--timeout", "1") })
	if _, err := compose("up", "-d"); err != nil {
		t.Fatal(err)
	}
	front, back := composeProject+"_front_1", composeProject+"_back_1"
	net := composeProject + "_default"
	back4, back6 := addrs(t, back, net)
	expect(t, front, 10*time.Second,
		allow("compose front -> back tcp/8080", back4, "8080"),
		allow("compose front -> back tcp/8080 v6", back6, "8080"),
		deny("compose front -> back tcp/9999", back4, "9999"))
	expect(t, back, 10*time.Second, deny("compose back -> front", v4(t, front, net), "8080"))
	if t.Failed() {
		out, _, _ := zonewall(t, "explain", front, back, "tcp/8080")
		t.Logf("zonewall explain %s %s tcp/8080:\n%s", front, back, out)
	}
}
