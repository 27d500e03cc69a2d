package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// newLogger builds the daemon's logger from log_format and log_level. With
// journal set, every line starts with its syslog priority ("<3>" for
// errors), which journald turns into the entry's PRIORITY: then
// `journalctl -u zonewall -p err` finds the errors.
func newLogger(w io.Writer, format, level string, journal bool) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var mk func(io.Writer) slog.Handler
	switch strings.ToLower(format) {
	case "", "text":
		mk = func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }
	case "json":
		mk = func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
	default:
		return nil, fmt.Errorf("log_format %q: want text or json", format)
	}
	if !journal {
		return slog.New(mk(w)), nil
	}
	return slog.New(newPriorityHandler(w, mk)), nil
}

// stderrIsJournal reports whether stderr is the journal stream systemd
// connected (JOURNAL_STREAM names its device and inode): a child of the
// service with stderr redirected elsewhere inherits the variable but must
// not write prefixes.
func stderrIsJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return ok && err == nil
}

// syslog priorities (sd-daemon.h's SD_ERR ... SD_DEBUG).
var priorityPrefixes = [...]string{"<7>", "<6>", "<4>", "<3>"} // debug, info, warn, error

// priorityHandler writes each record through the handler of its priority;
// the handlers differ only in the prefix their writer puts before the line.
type priorityHandler struct{ h [4]slog.Handler }

func newPriorityHandler(w io.Writer, mk func(io.Writer) slog.Handler) *priorityHandler {
	var p priorityHandler
	for i, prefix := range priorityPrefixes {
		p.h[i] = mk(&prefixWriter{w: w, prefix: prefix})
	}
	return &p
}

func priorityIndex(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 2
	case l >= slog.LevelInfo:
		return 1
	}
	return 0
}

func (p *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return p.h[priorityIndex(l)].Enabled(ctx, l)
}

func (p *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	return p.h[priorityIndex(r.Level)].Handle(ctx, r)
}

func (p *priorityHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var q priorityHandler
	for i, h := range p.h {
		q.h[i] = h.WithAttrs(as)
	}
	return &q
}

func (p *priorityHandler) WithGroup(name string) slog.Handler {
	var q priorityHandler
	for i, h := range p.h {
		q.h[i] = h.WithGroup(name)
	}
	return &q
}

// prefixWriter puts prefix before every write; slog's handlers write one
// whole line per record, under their own lock.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(append(p.buf[:0], p.prefix...), b...)
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}
