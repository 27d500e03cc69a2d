package e2e

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Flows to the host's own addresses (its input path), and connections the
// host opens to containers (host_to_containers: allow by default).
func TestHostFlows(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	srv := exec.Command("busybox", "nc", "-ll", "-p", "19100", "-e", "true")
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	recordPID(srv.Process.Pid, srv.Args...)
	t.Cleanup(func() { _ = srv.Process.Kill(); _, _ = srv.Process.Wait() })

	// The host as the containers see it: their default gateway on front.
	route := must(t, "docker", "exec", api1, "ip", "route", "show", "default")
	f := strings.Fields(route)
	if len(f) < 3 || f[1] != "via" {
		t.Fatalf("api's default route: %q", route)
	}
	gw := f[2]
	expect(t, api1, 10*time.Second, allow("api -> host tcp/19100", gw, "19100"))
	expect(t, web1, 0, deny("web -> host tcp/19100", gw, "19100"))
	expect(t, stray, 0, deny("unzoned -> host tcp/19100", gw, "19100"))

	if err := exec.Command("busybox", "nc", "-w", "1", v4(t, db1, netBack), "5432").Run(); err != nil {
		t.Errorf("host -> db tcp/5432 blocked; host_to_containers defaults to allow: %v", err)
	}
}
