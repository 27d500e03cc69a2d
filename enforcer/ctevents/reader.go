package ctevents

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("ctevents: reader closed")

// Options tune a Reader. The zero value is ready to use.
type Options struct {
	// NetNS is an open file descriptor of the network namespace to listen
	// in; 0 means the caller's.
	NetNS int
	// ReadBuffer is the socket receive buffer; default 4 MiB. Under a burst
	// of new connections a smaller one loses events (counted by Overruns).
	ReadBuffer int
}

// Reader receives new-connection events. Read is for one goroutine;
// Overruns and Close are safe from any.
type Reader struct {
	conn     *netlink.Conn
	pending  []Event
	overruns atomic.Uint64
	bad      atomic.Uint64
	closed   atomic.Bool
}

// Open subscribes to the kernel's new-connection events.
func Open(opts Options) (*Reader, error) {
	if opts.ReadBuffer == 0 {
		opts.ReadBuffer = 4 << 20
	}
	// A fixed receive buffer: one recvmsg per event instead of a peek for
	// its size and a new buffer each time (events are a few hundred bytes).
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: opts.NetNS, Groups: 1 << (groupCTNew - 1), MessageBufferSize: 16 << 10})
	if err != nil {
		return nil, fmt.Errorf("conntrack events: %w (is nf_conntrack_netlink available?)", err)
	}
	if err := conn.SetReadBuffer(opts.ReadBuffer); err != nil {
		conn.Close()
		return nil, fmt.Errorf("conntrack events: receive buffer: %w", err)
	}
	return &Reader{conn: conn}, nil
}

// Read returns the next event. Overruns (ENOBUFS: events the kernel could
// not queue) are counted and reading goes on; undecodable messages too.
func (r *Reader) Read(ctx context.Context) (Event, error) {
	// A done ctx wakes a blocked Receive through its deadline.
	stop := context.AfterFunc(ctx, func() { _ = r.conn.SetReadDeadline(time.Now()) })
	defer stop()
	for len(r.pending) == 0 {
		if r.closed.Load() {
			return Event{}, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		msgs, err := r.conn.Receive()
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOBUFS):
			r.overruns.Add(1)
			continue
		case r.closed.Load() || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed):
			return Event{}, ErrClosed
		case ctx.Err() != nil:
			_ = r.conn.SetReadDeadline(time.Time{})
			return Event{}, ctx.Err()
		default:
			return Event{}, fmt.Errorf("conntrack events: receive: %w", err)
		}
		for _, m := range msgs {
			if !isNew(m.Header.Type) {
				continue
			}
			ev, err := Parse(m.Data)
			if err != nil {
				r.bad.Add(1)
				continue
			}
			r.pending = append(r.pending, ev)
		}
	}
	ev := r.pending[0]
	r.pending = r.pending[1:]
	return ev, nil
}

// Overruns is how many times the kernel dropped events for a full buffer.
func (r *Reader) Overruns() uint64 { return r.overruns.Load() }

// Undecodable is how many messages could not be parsed.
func (r *Reader) Undecodable() uint64 { return r.bad.Load() }

// Close unsubscribes; a blocked Read returns ErrClosed.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.conn.Close()
}
