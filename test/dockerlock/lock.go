// Package dockerlock takes the host-wide lock that tests programming the
// host's zonewall tables against the real Docker daemon hold
// (/tmp/zwtest-docker.lock), without deadlocking under a caller that holds
// it already: `flock /tmp/zwtest-docker.lock go test ./test/e2e` (the way
// scripts switch dockerd and run a suite as one step), or test/e2e-docker,
// which says so with ZW_DOCKER_LOCK_HELD=1. A second flock on a new
// descriptor would wait for that caller forever.
package dockerlock

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Path is the lock's file.
const Path = "/tmp/zwtest-docker.lock"

// HeldEnv set to "1" says the caller holds the lock for this process.
const HeldEnv = "ZW_DOCKER_LOCK_HELD"

// Acquire takes the lock at path unless the caller holds it already (HeldEnv,
// or an flock held by an ancestor process); waiting says it is about to
// wait. release gives it back (a no-op when the caller holds it).
func Acquire(path string, waiting func()) (release func(), err error) {
	if os.Getenv(HeldEnv) == "1" || os.Getenv("ZW_E2E_LOCK_HELD") == "1" { // the older spelling
		return func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return func() { f.Close() }, nil
	}
	if heldByAncestor(f) {
		f.Close()
		return func() {}, nil
	}
	if waiting != nil {
		waiting()
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing releases the flock
}

// heldByAncestor reports whether a process this one descends from holds an
// flock on f's file.
func heldByAncestor(f *os.File) bool {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return false
	}
	defer locks.Close()
	holders := flockHolders(locks, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	for pid := os.Getppid(); pid > 1; pid = parentOf(pid) {
		if holders[pid] {
			return true
		}
	}
	return false
}

// flockHolders reads /proc/locks and returns the PIDs holding (not waiting
// for) an flock on the file with that device and inode. A line reads
// "2: FLOCK  ADVISORY  WRITE 4718 fe:00:9977876 0 EOF"; waiters' lines
// have "->" after the number.
func flockHolders(r io.Reader, major, minor uint32, ino uint64) map[int]bool {
	out := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] != "FLOCK" {
			continue // a waiter ("->" in f[1]) or another kind of lock
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		id := strings.Split(f[5], ":")
		if len(id) != 3 {
			continue
		}
		ma, err1 := strconv.ParseUint(id[0], 16, 32)
		mi, err2 := strconv.ParseUint(id[1], 16, 32)
		in, err3 := strconv.ParseUint(id[2], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil && uint32(ma) == major && uint32(mi) == minor && in == ino {
			out[pid] = true
		}
	}
	return out
}

// parentOf returns a process's parent PID, or 0.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
