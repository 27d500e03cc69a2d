package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// The "world": a namespace of our own joined to the host by a veth, with
// documentation-range addresses. Containers reach it through Docker's
// masquerade; from it, published ports are reached at the host end.
const (
	worldNS     = prefix + "-world"
	worldHostIf = prefix + "-wh"
	worldNSIf   = prefix + "-wn"
	worldHostIP = "198.51.100.1"
	worldIP     = "198.51.100.2"
)

// worldServers are the listeners inside the world namespace (killed by PID).
var worldServers []*os.Process

func createWorld() error {
	steps := [][]string{
		{"ip", "netns", "add", worldNS},
		{"ip", "link", "add", worldHostIf, "type", "veth", "peer", "name", worldNSIf},
		{"ip", "link", "set", worldNSIf, "netns", worldNS},
		{"ip", "addr", "add", worldHostIP + "/24", "dev", worldHostIf},
		{"ip", "link", "set", worldHostIf, "up"},
		{"ip", "-n", worldNS, "addr", "add", worldIP + "/24", "dev", worldNSIf},
		{"ip", "-n", worldNS, "link", "set", worldNSIf, "up"},
		{"ip", "-n", worldNS, "link", "set", "lo", "up"},
		{"ip", "-n", worldNS, "route", "add", "default", "via", worldHostIP},
	}
	for _, s := range steps {
		if _, err := sh(s[0], s[1:]...); err != nil {
			return fmt.Errorf("world namespace: %w", err)
		}
	}
	for _, port := range []string{"443", "8443"} {
		cmd := exec.Command("ip", "netns", "exec", worldNS, "busybox", "nc", "-ll", "-p", port, "-e", "true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("world server on %s: %w", port, err)
		}
		worldServers = append(worldServers, cmd.Process)
		recordPID(cmd.Process.Pid, cmd.Args[4:]...)
	}
	return nil
}

func removeWorld() {
	for _, p := range worldServers {
		_ = p.Kill()
		_, _ = p.Wait()
	}
	worldServers = nil
	_ = exec.Command("ip", "link", "del", worldHostIf).Run()
	_ = exec.Command("ip", "netns", "del", worldNS).Run()
}

// fromWorld reports whether a TCP connection from the world namespace to
// ip:port succeeds (one attempt, 1 s).
func fromWorld(ip, port string) bool {
	err := exec.Command("ip", "netns", "exec", worldNS, "busybox", "nc", "-w", "1", ip, port).Run()
	return err == nil
}

func worldReachable() error {
	out, err := exec.Command("ip", "netns", "exec", worldNS, "busybox", "ping", "-c", "1", "-W", "1", worldHostIP).CombinedOutput()
	if err != nil {
		return fmt.Errorf("world namespace cannot reach the host end: %s", strings.TrimSpace(string(out)))
	}
	return nil
}
