package nflog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("nflog: reader closed")

// Options tune a Reader. The zero value is ready to use.
type Options struct {
	// NetNS is an open file descriptor of the network namespace to read in
	// (for example of /run/netns/NAME); 0 means the caller's namespace. The
	// caller keeps it open while Open runs.
	NetNS int
	// CopyRange is how many bytes of each packet the kernel copies, from the
	// network header; default 128 (IPv6 header, extension headers, ports).
	CopyRange uint16
	// QueueThreshold is how many packets the kernel batches into one
	// message before sending; default 32. Batching more than doubles the
	// drops per second the reader keeps up with (BenchmarkReaderDrops).
	QueueThreshold uint32
	// FlushTimeoutCentis is how long, in 1/100 s, the kernel holds a
	// partial batch; default 1 (a drop shows within 10 ms).
	FlushTimeoutCentis uint32
	// KernelBufferSize is the kernel's per-group batch buffer in bytes;
	// 0 keeps the kernel's default.
	KernelBufferSize uint32
	// ReadBuffer is the socket receive buffer in bytes; default 1 MiB. A
	// small one loses messages under a burst of drops (counted by Lost).
	ReadBuffer int
	// NoNames skips resolving interface indexes to names.
	NoNames bool
	// Logger receives overruns and undecodable messages; default slog.Default().
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if o.CopyRange == 0 {
		o.CopyRange = 128
	}
	if o.QueueThreshold == 0 {
		o.QueueThreshold = 32
	}
	if o.FlushTimeoutCentis == 0 {
		o.FlushTimeoutCentis = 1
	}
	if o.ReadBuffer == 0 {
		o.ReadBuffer = 1 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Reader receives the packets logged to one NFLOG group. Read is meant to be
// called from one goroutine; Lost, Overruns and Close are safe from any.
type Reader struct {
	conn  *netlink.Conn
	group uint16
	names *ifaceNames
	log   *slog.Logger

	readMu  sync.Mutex
	pending []Record
	lastSeq uint32
	haveSeq bool

	lost     atomic.Uint64
	overruns atomic.Uint64
	closed   atomic.Bool
}

// Open binds a netlink socket to NFLOG group and configures it to copy the
// packet headers. Only one socket can hold a group in a network namespace:
// a second Open of the same group fails with EPERM.
func Open(group uint16, opts Options) (*Reader, error) {
	opts.setDefaults()
	conn, err := netlink.Dial(netlinkNetfilter, &netlink.Config{NetNS: opts.NetNS})
	if err != nil {
		return nil, fmt.Errorf("nflog group %d: open netfilter netlink socket: %w", group, err)
	}
	r := &Reader{conn: conn, group: group, log: opts.Logger}
	if err := r.setup(opts); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("nflog group %d: %w", group, err)
	}
	if !opts.NoNames {
		names, err := newIfaceNames(opts.NetNS)
		if err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("nflog group %d: %w", group, err)
		}
		r.names = names
	}
	return r, nil
}

func (r *Reader) setup(opts Options) error {
	if err := r.conn.SetReadBuffer(opts.ReadBuffer); err != nil {
		return fmt.Errorf("set receive buffer: %w", err)
	}
	bind, err := bindMessage(r.group)
	if err != nil {
		return err
	}
	if err := r.request(bind); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("bind: %w (another socket holds the group, or CAP_NET_ADMIN is missing)", err)
		}
		return fmt.Errorf("bind: %w", err)
	}
	mode, err := modeMessage(r.group, opts)
	if err != nil {
		return err
	}
	if err := r.request(mode); err != nil {
		return fmt.Errorf("set copy mode: %w", err)
	}
	return nil
}

// request sends a config message and waits for its acknowledgement. Packets
// may already arrive in between once the group is bound; they are kept.
func (r *Reader) request(m netlink.Message) error {
	sent, err := r.conn.Send(m)
	if err != nil {
		return err
	}
	if err := r.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	defer func() { _ = r.conn.SetReadDeadline(time.Time{}) }()
	for {
		msgs, err := r.conn.Receive()
		if err != nil {
			return err
		}
		for _, msg := range msgs {
			if msg.Header.Type == netlink.Error && msg.Header.Sequence == sent.Header.Sequence {
				return nil
			}
			r.queue(msg, time.Now())
		}
	}
}

// Read returns the next logged packet. It blocks until one arrives, ctx is
// done (ctx.Err() is returned) or the reader is closed (ErrClosed). Socket
// overruns (ENOBUFS) are counted and reading goes on.
func (r *Reader) Read(ctx context.Context) (Record, error) {
	r.readMu.Lock()
	defer r.readMu.Unlock()
	for len(r.pending) == 0 {
		if r.closed.Load() {
			return Record{}, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return Record{}, err
		}
		msgs, err := r.receive(ctx)
		now := time.Now()
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOBUFS):
			// The kernel dropped messages because we were too slow; the
			// sequence gap of the next message tells how many.
			n := r.overruns.Add(1)
			r.log.Warn("nflog receive buffer overrun, messages lost", "group", r.group, "overruns", n)
			continue
		case r.closed.Load() || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed):
			return Record{}, ErrClosed
		case ctx.Err() != nil:
			return Record{}, ctx.Err()
		default:
			return Record{}, fmt.Errorf("nflog group %d: receive: %w", r.group, err)
		}
		for _, m := range msgs {
			r.queue(m, now)
		}
	}
	rec := r.pending[0]
	r.pending = r.pending[1:]
	if r.names != nil {
		rec.InIface = r.names.name(rec.InIndex)
		rec.OutIface = r.names.name(rec.OutIndex)
		rec.PhysInIface = r.names.name(rec.PhysInIndex)
		rec.PhysOutIface = r.names.name(rec.PhysOutIndex)
	}
	return rec, nil
}

// receive is conn.Receive, interrupted when ctx is done.
func (r *Reader) receive(ctx context.Context) ([]netlink.Message, error) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		_ = r.conn.SetReadDeadline(time.Unix(1, 0))
	})
	msgs, err := r.conn.Receive()
	if !stop() {
		<-fired
		_ = r.conn.SetReadDeadline(time.Time{})
	}
	return msgs, err
}

// queue decodes a message into the pending records and accounts for
// sequence gaps (messages the kernel could not deliver).
func (r *Reader) queue(m netlink.Message, now time.Time) {
	rec, hasSeq, err := parseMessage(m, now)
	if errors.Is(err, errNotPacket) {
		return
	}
	if err != nil {
		r.log.Warn("undecodable nflog message", "group", r.group, "err", err)
		return
	}
	if hasSeq {
		if r.haveSeq {
			if gap := rec.Seq - r.lastSeq - 1; gap != 0 && gap < 1<<31 {
				r.lost.Add(uint64(gap))
			}
		}
		r.lastSeq, r.haveSeq = rec.Seq, true
	}
	r.pending = append(r.pending, rec)
}

// Lost is the number of messages the kernel logged to this group that never
// reached the reader (seen as gaps in the group's sequence numbers).
func (r *Reader) Lost() uint64 { return r.lost.Load() }

// Overruns is the number of times the socket's receive buffer overflowed
// (ENOBUFS); each loses one or more messages.
func (r *Reader) Overruns() uint64 { return r.overruns.Load() }

// Group is the NFLOG group the reader is bound to.
func (r *Reader) Group() uint16 { return r.group }

// Close unbinds the group and closes the socket; a blocked Read returns
// ErrClosed.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	// Best effort: closing the socket also releases the group in the kernel.
	if m, err := unbindMessage(r.group); err == nil {
		_, _ = r.conn.Send(m)
	}
	if r.names != nil {
		r.names.close()
	}
	if err := r.conn.Close(); err != nil {
		return fmt.Errorf("nflog group %d: close: %w", r.group, err)
	}
	return nil
}
