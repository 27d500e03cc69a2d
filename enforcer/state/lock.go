package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked means another daemon uses the same state directory.
var ErrLocked = errors.New("state directory is in use by another zonewall daemon")

// Lock takes an exclusive, non-blocking lock on the state directory for the
// life of the process (released by the returned function or at exit): two
// daemons saving over each other's state would boot the wrong ruleset.
func (s *Store) Lock() (unlock func(), err error) {
	path := filepath.Join(s.dir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", s.dir, ErrLocked)
		}
		return nil, fmt.Errorf("state lock: %w", err)
	}
	return func() { f.Close() }, nil
}
