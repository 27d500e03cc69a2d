package control

import (
	"net"
	"sync"
	"syscall"
)

// umaskMu serializes umask changes: the umask is process-wide.
var umaskMu sync.Mutex

// listenUnixPrivate creates a unix socket that only its owner can connect to.
func listenUnixPrivate(path string) (net.Listener, error) {
	umaskMu.Lock()
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	umaskMu.Unlock()
	return ln, err
}
