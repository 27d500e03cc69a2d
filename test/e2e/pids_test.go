package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// pidFile lists the processes this suite started (daemon, world servers),
// so that a run killed by a timeout leaves nothing behind for the next one:
// each line is "PID<TAB>cmdline", and a process is killed only if its
// command line still matches (the PID was not reused).
const pidFile = "/tmp/zwtest-e-pids"

// recordPID appends a started process to the PID file with the command
// line it runs (after any exec, e.g. by ip netns exec).
func recordPID(pid int, argv ...string) {
	f, err := os.OpenFile(pidFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d\t%s \n", pid, strings.Join(argv, " "))
}

// killRecorded kills the recorded processes that still run, then forgets them.
func killRecorded() {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		pidStr, want, ok := strings.Cut(line, "\t")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})) != want {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = os.Remove(pidFile)
}
