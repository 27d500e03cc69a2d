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
	if err := w.Add(d.cfg.ZonesDir); err != nil {
		w.Close()
		return fmt.Errorf("watch %s: %w", d.cfg.ZonesDir, err)
	}
	go func() {
		defer w.Close()
		var settle <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
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
