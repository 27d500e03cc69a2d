package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// dockerdPIDFile is where dockerd writes its PID (its default; the Docker 29
// set-up of test/docker29.sh keeps it).
const dockerdPIDFile = "/var/run/docker.pid"

// dockerdProc is a running dockerd as the kernel knows it: enough to start
// the same binary with the same flags and environment again. The suite runs
// against Debian's Docker 20.10 and against Docker 29 built into a cache with
// flags of its own, so "dockerd from PATH" would be the wrong daemon.
type dockerdProc struct {
	PID  int
	Exe  string   // the binary (/proc/PID/exe)
	Args []string // argv without argv[0]
	Env  []string
	Dir  string // working directory
	Log  string // the regular file its stderr goes to, or ""
}

// runningDockerd reads the dockerd whose PID is in dockerdPIDFile.
func runningDockerd() (dockerdProc, error) {
	b, err := os.ReadFile(dockerdPIDFile)
	if err != nil {
		return dockerdProc{}, fmt.Errorf("dockerd pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return dockerdProc{}, fmt.Errorf("dockerd pid %q: %w", b, err)
	}
	return readDockerd(pid)
}

func readDockerd(pid int) (dockerdProc, error) {
	proc := fmt.Sprintf("/proc/%d", pid)
	p := dockerdProc{PID: pid}
	var err error
	if p.Exe, err = os.Readlink(proc + "/exe"); err != nil {
		return p, fmt.Errorf("dockerd %d: %w", pid, err)
	}
	if strings.HasSuffix(p.Exe, " (deleted)") {
		return p, fmt.Errorf("dockerd %d: its binary %s was replaced or removed since it started", pid, p.Exe)
	}
	argv, err := readNulList(proc + "/cmdline")
	if err != nil || len(argv) == 0 {
		return p, fmt.Errorf("dockerd %d: command line: %v", pid, err)
	}
	p.Args = argv[1:]
	if p.Env, err = readNulList(proc + "/environ"); err != nil {
		return p, fmt.Errorf("dockerd %d: environment: %w", pid, err)
	}
	if p.Dir, err = os.Readlink(proc + "/cwd"); err != nil {
		p.Dir = "/"
	}
	if l, err := os.Readlink(proc + "/fd/2"); err == nil && filepath.IsAbs(l) {
		if fi, err := os.Stat(l); err == nil && fi.Mode().IsRegular() {
			p.Log = l
		}
	}
	return p, nil
}

func readNulList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil, nil
	}
	return strings.Split(string(b), "\x00"), nil
}

// sameCommand reports whether q runs what p ran: binary, flags, environment.
func (p dockerdProc) sameCommand(q dockerdProc) bool {
	return p.Exe == q.Exe && slices.Equal(p.Args, q.Args) && slices.Equal(p.Env, q.Env)
}

// stop sends SIGTERM and waits until the process is gone.
func (p dockerdProc) stop(within time.Duration) error {
	if err := syscall.Kill(p.PID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop dockerd %d: %w", p.PID, err)
	}
	for start := time.Now(); syscall.Kill(p.PID, 0) == nil; time.Sleep(100 * time.Millisecond) {
		if time.Since(start) > within {
			return fmt.Errorf("dockerd %d did not stop within %v", p.PID, within)
		}
	}
	return nil
}

// startAgain starts the same dockerd in its own session, so that it
// outlives this test binary, and returns its PID.
func (p dockerdProc) startAgain() (int, error) {
	logPath := p.Log
	if logPath == "" {
		logPath = os.DevNull
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	d := exec.Command(p.Exe, p.Args...)
	d.Env, d.Dir = p.Env, p.Dir
	d.Stdout, d.Stderr = logf, logf
	d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", p.Exe, err)
	}
	pid := d.Process.Pid
	_ = d.Process.Release()
	return pid, nil
}
