package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchZonesDir reloads the policy when files in zones_dir change. Events are
// debounced: a deploy writes several files, an editor several times per file.
func (d *Daemon) watchZonesDir(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("fsnotify: %w", err)
	}
	var retry <-chan time.Time
	if err := w.Add(d.cfg.ZonesDir); err != nil {
		// Typically the directory does not exist yet: keep trying, and
		// read the files once it appears.
		d.log.Warn("cannot watch zones_dir yet; retrying every 2s", "dir", d.cfg.ZonesDir, "err", err)
		retry = time.After(2 * time.Second)
	}
	go func() {
		defer w.Close()
		var settle <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-retry:
				if err := w.Add(d.cfg.ZonesDir); err != nil {
					retry = time.After(2 * time.Second)
					continue
				}
				retry = nil
				d.log.Info("watching zones_dir", "dir", d.cfg.ZonesDir)
				d.Reload()
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				d.log.Debug("zone files changed", "event", ev.String())
				settle = time.After(d.cfg.ReloadDebounce)
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				d.log.Warn("zone-file watch error; reloading to be safe", "err", err)
				settle = time.After(d.cfg.ReloadDebounce)
			case <-settle:
				settle = nil
				d.Reload()
			}
		}
	}()
	return nil
}
