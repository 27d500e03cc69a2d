package dockerlock

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFlockHolders(t *testing.T) {
	locks := `1: OFDLCK ADVISORY  READ -1 00:06:3 0 EOF
2: FLOCK  ADVISORY  WRITE 4718 fe:00:9977876 0 EOF
2: -> FLOCK  ADVISORY  WRITE 5472 fe:00:9977876 0 EOF
3: POSIX  ADVISORY  WRITE 17400 fe:00:9977876 0 EOF
4: FLOCK  ADVISORY  WRITE 99 fe:01:9977876 0 EOF
5: FLOCK  ADVISORY  WRITE 98 fe:00:1 0 EOF
`
	got := flockHolders(strings.NewReader(locks), 0xfe, 0, 9977876)
	if len(got) != 1 || !got[4718] {
		t.Fatalf("holders = %v, want only 4718 (not the waiter, the POSIX lock, another device or inode)", got)
	}
}

func TestParentOf(t *testing.T) {
	if got := parentOf(os.Getpid()); got != os.Getppid() {
		t.Fatalf("parentOf(self) = %d, want %d", got, os.Getppid())
	}
	if got := parentOf(-5); got != 0 {
		t.Fatalf("parentOf(-5) = %d", got)
	}
}

// Under flock(1), Acquire returns at once; a non-ancestor holder makes it wait.
func TestAcquireUnderAncestorsLock(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Skip("needs flock(1)")
	}
	if os.Getenv("ZW_DOCKERLOCK_CHILD") == "1" {
		release, err := Acquire(os.Getenv("ZW_DOCKERLOCK_PATH"), func() { t.Fatal("waited for the lock its ancestor holds") })
		if err != nil {
			t.Fatal(err)
		}
		release()
		return
	}
	t.Setenv(HeldEnv, "")
	path := filepath.Join(t.TempDir(), "lock")
	// The test binary again, as a grandchild of flock(1) (through sh).
	cmd := exec.Command("flock", path, "sh", "-c", `"$0" -test.run '^TestAcquireUnderAncestorsLock$'`, os.Args[0])
	cmd.Env = append(os.Environ(), "ZW_DOCKERLOCK_CHILD=1", "ZW_DOCKERLOCK_PATH="+path)
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.CombinedOutput()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child under flock(1) deadlocked on the lock")
	}

	// A holder that is no ancestor: Acquire waits until it lets go.
	hold := exec.Command("flock", path, "sleep", "1")
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer hold.Wait()
	for start := time.Now(); !heldBySomeone(t, path); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("flock(1) did not take the lock within 5 s")
		}
	}
	waited := false
	start := time.Now()
	release, err := Acquire(path, func() { waited = true })
	if err != nil {
		t.Fatal(err)
	}
	release()
	if !waited || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("Acquire did not wait for a non-ancestor holder (waited %v, %v)", waited, time.Since(start))
	}
}

func heldBySomeone(t *testing.T, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
