package daemon

import (
	"log/slog"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// SystemdNotifier speaks sd_notify; without NOTIFY_SOCKET every call is a no-op.
type SystemdNotifier struct{ Log *slog.Logger }

func (n SystemdNotifier) send(state string) {
	if _, err := sd.SdNotify(false, state); err != nil && n.Log != nil {
		n.Log.Warn("sd_notify failed", "state", state, "err", err)
	}
}

// Ready reports READY=1.
func (n SystemdNotifier) Ready() { n.send(sd.SdNotifyReady) }

// Stopping reports STOPPING=1.
func (n SystemdNotifier) Stopping() { n.send(sd.SdNotifyStopping) }

// Watchdog reports WATCHDOG=1.
func (n SystemdNotifier) Watchdog() { n.send(sd.SdNotifyWatchdog) }

// WatchdogInterval is half of WATCHDOG_USEC (systemd's advice), or 0.
func (n SystemdNotifier) WatchdogInterval() time.Duration {
	d, err := sd.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}
