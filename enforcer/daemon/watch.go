package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Zone files are deployed in every way git and deploy tools know: edited in
// place, replaced by rename (git checkout), the whole directory swapped by
// rename, or a symlink swapped (ln -sfn releases/v2 zones.d). inotify
// watches an inode, not a path: after a swap the old watch follows the old
// directory. So the watcher also watches the parent directory (where the
// swap happens), re-resolves zones_dir after every event and on a poll, and
// moves its watch to whatever the path names now. The poll (PollInterval)
// also compares a fingerprint of the files (names, sizes, mtimes, inodes),
// so a change whose events were missed is still picked up.
//
// Reloads wait until events have been quiet for ReloadDebounce, so a deploy
// writing several files is read once; a half-written state that does not
// load changes nothing (reloadPolicy keeps the last valid policy) and the
// final write reloads again.

// zonesWatch is the watcher's view of zones_dir.
type zonesWatch struct {
	w      *fsnotify.Watcher
	dir    string // zones_dir as configured (may be a symlink)
	parent string
	target dirID  // the directory dir resolved to when last watched
	fp     string // fingerprint of the files at the last reload
}

// dirID identifies a directory (device and inode); zero when missing.
type dirID struct{ dev, ino uint64 }

func identify(dir string) dirID {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return dirID{}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}
	}
	return dirID{dev: uint64(st.Dev), ino: st.Ino}
}

// fingerprint summarizes the zone files of dir; "" when it cannot be read.
func fingerprint(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var parts []string
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".yaml") && !strings.HasSuffix(n, ".yml") {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			parts = append(parts, n+":?")
			continue
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = st.Ino
		}
		parts = append(parts, fmt.Sprintf("%s:%d:%d:%d", n, fi.Size(), fi.ModTime().UnixNano(), ino))
	}
	sort.Strings(parts)
	return strings.Join(parts, "|")
}

// rewatch points the directory watch at what dir names now. It reports
// whether that changed.
func (z *zonesWatch) rewatch() bool {
	_ = z.w.Add(z.parent) // idempotent; fails while the parent is missing (the poll retries)
	id := identify(z.dir)
	if id == z.target {
		return false
	}
	_ = z.w.Remove(z.dir) // the old inode's watch, if it still exists
	if id != (dirID{}) {
		if err := z.w.Add(z.dir); err != nil {
			id = dirID{} // try again on the next event or poll
		}
	}
	z.target = id
	return true
}

// relevant reports whether an event may change what zones_dir holds: inside
// the watched directory, or the zones_dir entry of the parent.
func (z *zonesWatch) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	if filepath.Dir(name) == z.parent {
		return name == z.dir
	}
	return true
}

// watchZonesDir reloads the policy when zones_dir changes, however it changes.
func (d *Daemon) watchZonesDir(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("fsnotify: %w", err)
	}
	dir := filepath.Clean(d.cfg.ZonesDir)
	z := &zonesWatch{w: w, dir: dir, parent: filepath.Dir(dir)}
	z.rewatch()
	z.fp = fingerprint(dir)
	if z.target == (dirID{}) {
		d.log.Warn("zones_dir does not exist yet; it is read once it appears", "dir", dir)
	}
	go func() {
		defer w.Close()
		poll := time.NewTicker(d.cfg.ZonesPollInterval)
		defer poll.Stop()
		var settle <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !z.relevant(ev) {
					continue
				}
				d.log.Debug("zone files changed", "event", ev.String())
				settle = time.After(d.cfg.ReloadDebounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				d.log.Warn("zone-file watch error; reloading to be safe", "err", err)
				z.fp = "\x00" // force the reload below
				settle = time.After(d.cfg.ReloadDebounce)
			case <-poll.C:
				if settle != nil {
					continue // events are settling; the reload comes
				}
				if identify(z.dir) != z.target || fingerprint(z.dir) != z.fp {
					settle = time.After(d.cfg.ReloadDebounce)
				}
			case <-settle:
				settle = nil
				swapped := z.rewatch()
				fp := fingerprint(z.dir)
				if !swapped && fp == z.fp {
					continue // nothing a policy is made of changed (e.g. a temp file)
				}
				if swapped {
					d.log.Info("zones_dir now names another directory; watching it", "dir", z.dir)
				}
				z.fp = fp
				d.Reload()
			}
		}
	}()
	return nil
}
