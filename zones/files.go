package zones

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// This file is the one rule for which files of a zones directory count and
// how they are read; `zonewall check`, the daemon's reload and the state
// snapshot all go through ReadDir, so they can never disagree.
//
// The zones directory may be writable by someone who is not root, while the
// daemon runs as root: reading a file must not hang (FIFO), exhaust memory
// (/dev/zero, a huge sparse file) or read files outside the directory
// (symlinks), whose content an error message could then quote.

const (
	// MaxFileSize is the largest zone file read.
	MaxFileSize = 1 << 20
	// MaxDirSize bounds the zone files of one directory together.
	MaxDirSize = 16 << 20
	// MaxFiles bounds the number of zone files in one directory.
	MaxFiles = 1000
)

// Source is one zone file: its path as errors name it, and its content.
type Source struct {
	Path string // filepath.Join(dir, name)
	Name string // base name
	Data []byte
}

// IsZoneFileName reports whether a directory entry named name is a zone
// file: *.yaml or *.yml, not hidden (editor swap files, emacs lock links
// ".#x.yaml" and Kubernetes' "..data" are hidden).
func IsZoneFileName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

// ReadDir reads every zone file of dir in lexical order. A file that breaks
// a rule (not a regular file, a symbolic link leaving dir, too large) is
// reported as an error naming it, and the others are still read, so one
// Load reports every problem. A problem with dir itself is one error whose
// position has Line 0.
func ReadDir(dir string) ([]Source, ErrorList) {
	// os.OpenRoot opens without O_NONBLOCK: a FIFO given as the directory
	// would hang it, so the type is checked first.
	if fi, err := os.Stat(dir); err != nil {
		return nil, ErrorList{dirError(dir, err)}
	} else if !fi.IsDir() {
		return nil, ErrorList{{Pos: Pos{File: dir}, Msg: "not a directory"}}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, ErrorList{dirError(dir, err)}
	}
	defer root.Close()
	names, err := zoneFileNames(root)
	if err != nil {
		return nil, ErrorList{dirError(dir, err)}
	}
	if len(names) == 0 {
		return nil, ErrorList{{Pos: Pos{File: dir}, Msg: "no *.yaml or *.yml files"}}
	}
	if len(names) > MaxFiles {
		return nil, ErrorList{{Pos: Pos{File: dir}, Msg: fmt.Sprintf("%d zone files; at most %d are read (merge some)", len(names), MaxFiles)}}
	}
	var out []Source
	var errs ErrorList
	total := 0
	for _, name := range names {
		path := filepath.Join(dir, name)
		data, err := readZoneFile(root, name)
		if err == nil && total+len(data) > MaxDirSize {
			err = fmt.Errorf("the zone files together exceed %d MiB; this one is not read", MaxDirSize>>20)
		}
		if err != nil {
			errs.add(Pos{File: path, Line: 1, Col: 1}, err.Error())
			continue
		}
		total += len(data)
		out = append(out, Source{Path: path, Name: name, Data: data})
	}
	return out, errs
}

func dirError(dir string, err error) *Error {
	msg := fmt.Sprintf("cannot read directory: %v", unwrapPathError(err))
	if errors.Is(err, fs.ErrNotExist) {
		msg = "no such directory"
	} else if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
		msg = "not a directory" // os.OpenRoot's error has no errno to test
	}
	return &Error{Pos: Pos{File: dir}, Msg: msg}
}

// zoneFileNames lists the zone files of root, sorted.
func zoneFileNames(root *os.Root) ([]string, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	all, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range all {
		if IsZoneFileName(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// readZoneFile reads one zone file through root, which refuses symbolic
// links that lead outside the directory (or are absolute). The type is
// checked before opening, so a FIFO is never opened, and again on the open
// file, which is opened non-blocking in case it was swapped meanwhile.
func readZoneFile(root *os.Root, name string) ([]byte, error) {
	fi, err := root.Stat(name)
	if err != nil {
		return nil, readError(root, name, err)
	}
	if err := checkRegular(fi); err != nil {
		return nil, fmt.Errorf("%w; zone files must be regular files (rename it, or move it out of the zones directory)", err)
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, readError(root, name, err)
	}
	defer f.Close()
	data, err := readBounded(f, MaxFileSize)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// readBounded reads an open file that must be regular and at most max bytes.
func readBounded(f *os.File, max int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, sizeError(max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	}
	if int64(len(data)) > max {
		return nil, sizeError(max)
	}
	return data, nil
}

// checkRegular says what a file that is not regular is.
func checkRegular(fi fs.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return errors.New("is a directory, not a regular file")
	}
	kind := "a special file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	}
	return fmt.Errorf("is %s, not a regular file", kind)
}

// readError explains why root could not open name. os.Root's own message
// for an escaping link ("path escapes from parent") says little to an
// operator, so a link is described by its rule.
func readError(root *os.Root, name string, err error) error {
	if li, lerr := root.Lstat(name); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return errors.New("symbolic link to nothing (a dangling link); remove it or fix its target")
		case errors.Is(err, syscall.ELOOP):
			return errors.New("symbolic link loop; remove the link or fix its target")
		case !errors.Is(err, fs.ErrPermission):
			return errors.New("symbolic link that leads outside the zones directory (or is absolute); " +
				"links must be relative and stay inside the directory: copy the file in instead")
		}
	}
	return fmt.Errorf("cannot read: %v", unwrapPathError(err))
}

// unwrapPathError drops the path that our own error prefix already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ReadRegularFile reads a file named on a command line or in a
// configuration (policy tests, the daemon's configuration) by the same
// rules as zone files: only a regular file (a FIFO is never opened), at
// most max bytes. Errors do not repeat the path.
func ReadRegularFile(path string, max int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if err := checkRegular(fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	return readBounded(f, max)
}

func sizeError(max int64) error {
	return fmt.Errorf("larger than %d KiB; at most %d KiB are read (split it)", max>>10, max>>10)
}
