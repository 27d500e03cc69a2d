package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// daemon is the running `zonewall run`, if any.
var daemon struct {
	cmd      *exec.Cmd
	done     chan struct{}
	zonesDir string
	stateDir string
	socket   string
	logPath  string
}

// daemonDirs creates the zones dir, state dir and socket path once.
func daemonDirs() error {
	if daemon.zonesDir != "" {
		return nil
	}
	daemon.zonesDir = filepath.Join(suite.tmp, "zones.d")
	daemon.stateDir = filepath.Join(suite.tmp, "state")
	daemon.socket = filepath.Join(suite.tmp, "zonewall.sock")
	daemon.logPath = filepath.Join(suite.tmp, "daemon.log")
	for _, d := range []string{daemon.zonesDir, daemon.stateDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// globalFlags points a zonewall command at our daemon.
func globalFlags() []string {
	return []string{"--zones-dir", daemon.zonesDir, "--socket", daemon.socket, "--state-dir", daemon.stateDir}
}

// startDaemon runs `zonewall run` and waits until it has synced with Docker
// and applied the policy.
func startDaemon(t *testing.T) {
	t.Helper()
	if daemon.cmd != nil {
		t.Fatal("startDaemon: a daemon is already running")
	}
	if err := daemonDirs(); err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(daemon.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run"}, globalFlags()...)
	args = append(args, "--nflog-group", nflogGrp, "--log-format", "json", "--log-level", "debug", "--config", filepath.Join(suite.tmp, "none.yaml"))
	if err := os.WriteFile(filepath.Join(suite.tmp, "none.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(suite.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	logf.Close()
	recordPID(cmd.Process.Pid, cmd.Args...)
	daemon.cmd = cmd
	daemon.done = make(chan struct{})
	go func() { _ = cmd.Wait(); close(daemon.done) }()
	t.Logf("daemon started (pid %d, log %s)", cmd.Process.Pid, daemon.logPath)
	waitApplied(t, 20*time.Second)
}

// ensureDaemon starts the daemon unless one runs.
func ensureDaemon(t *testing.T) {
	t.Helper()
	if daemon.cmd == nil {
		startDaemon(t)
	}
}

// stopDaemon ends the daemon gracefully (SIGTERM, then SIGKILL), by PID.
func stopDaemon() { signalDaemon(syscall.SIGTERM, 10*time.Second) }

// killDaemon ends the daemon with SIGKILL: no chance to clean up.
func killDaemon() { signalDaemon(syscall.SIGKILL, 5*time.Second) }

func signalDaemon(sig syscall.Signal, grace time.Duration) {
	if daemon.cmd == nil {
		return
	}
	_ = daemon.cmd.Process.Signal(sig)
	select {
	case <-daemon.done:
	case <-time.After(grace):
		_ = daemon.cmd.Process.Kill()
		<-daemon.done
	}
	daemon.cmd = nil
}

// zonewall runs a client command against our daemon; it returns stdout,
// stderr and the exit code.
func zonewall(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(suite.bin, append(args, globalFlags()...)...)
	cmd.Stdout, cmd.Stderr = &o, &e
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("zonewall %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// status returns `zonewall status --json`, or an error while the daemon
// does not answer.
func status(t *testing.T) (control.Status, error) {
	t.Helper()
	out, errOut, code := zonewall(t, "status", "--json")
	var st control.Status
	if code != 0 {
		// A degraded daemon answers and exits 1 (e.g. Docker restarting).
		if code == 1 && json.Unmarshal([]byte(out), &st) == nil && len(st.Degraded) > 0 {
			return st, nil
		}
		return st, fmt.Errorf("status exit %d: %s", code, strings.TrimSpace(errOut))
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("status --json: %w\n%s", err, out)
	}
	return st, nil
}

// waitApplied waits until the daemon is synced and its last apply
// succeeded after now.
func waitApplied(t *testing.T, within time.Duration) control.Status {
	t.Helper()
	return waitStatus(t, within, "synced and applied", func(st control.Status) bool {
		return st.Synced && st.LastApply != nil && st.LastApply.Error == "" && !st.LastApply.LastSuccess.IsZero()
	})
}

// waitStatus polls the status until cond holds.
func waitStatus(t *testing.T, within time.Duration, what string, cond func(control.Status) bool) control.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	var lastErr error
	var st control.Status
	for time.Now().Before(deadline) {
		if daemon.cmd != nil {
			select {
			case <-daemon.done:
				daemon.cmd = nil
				t.Fatalf("daemon exited; log:\n%s", tailLog())
			default:
			}
		}
		st, lastErr = status(t)
		if lastErr == nil && cond(st) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	t.Fatalf("daemon not %s within %v (last error: %v)\nstatus: %s\nlog:\n%s", what, within, lastErr, b, tailLog())
	return st
}

func tailLog() string {
	b, _ := os.ReadFile(daemon.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// writeZones replaces the zone files with name -> content.
func writeZones(t *testing.T, files map[string]string) {
	t.Helper()
	if err := daemonDirs(); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(daemon.zonesDir, "*"))
	keep := map[string]bool{}
	for name, content := range files {
		p := filepath.Join(daemon.zonesDir, name)
		keep[p] = true
		// Write then rename, as a deploy tool would: the daemon never reads
		// a half-written file.
		tmp := filepath.Join(daemon.zonesDir, "."+name+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range old {
		if !keep[p] {
			_ = os.Remove(p)
		}
	}
}

type controlStatus = control.Status

// reportsUnzoned reports whether status lists the container as unzoned.
func reportsUnzoned(st control.Status, name string) bool {
	for _, f := range st.Reported {
		if f.Kind == "unzoned" && f.Container == name {
			return true
		}
	}
	return false
}
