package nflog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkReaderDrops measures how many logged drops per second the reader
// decodes while a sender floods the logging rule, and how many are lost.
// go test -run - -bench ReaderDrops ./enforcer/nflog
func BenchmarkReaderDrops(b *testing.B) {
	for _, o := range []struct {
		name string
		opts Options
	}{
		{"unbatched", Options{QueueThreshold: 1}},
		{"default", Options{}},
		{"unbatched-8MiB", Options{QueueThreshold: 1, ReadBuffer: 8 << 20}},
	} {
		b.Run(o.name, func(b *testing.B) { benchmarkReaderDrops(b, o.opts) })
	}
}

func benchmarkReaderDrops(b *testing.B, opts Options) {
	ns := newLinkedNamespaces(b)
	ns.nft(b, ns.server, serverRuleset)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.NetNS, opts.Logger = ns.serverFD, quiet
	r, err := Open(testGroup, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c := udpSocket(b, ns.clientFD, netip.MustParseAddr("192.0.2.2"))
	to := &unix.SockaddrInet4{Port: 7778, Addr: [4]byte{192, 0, 2, 2}}
	// Resolve the neighbour first: packets sent before ARP completes are
	// dropped by the client's kernel, not logged.
	if err := c.Sendto(context.Background(), []byte("warm"), 0, to); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err = r.Read(ctx)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	lost0 := r.Lost()
	b.ResetTimer()
	start := time.Now()
	var last time.Time
	go func() {
		for i := 0; i < b.N; i++ {
			_ = c.Sendto(context.Background(), []byte("flood"), 0, to)
		}
	}()
	got := 0
	for uint64(got)+r.Lost()-lost0 < uint64(b.N) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := r.Read(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		got++
		last = time.Now()
	}
	if got == 0 {
		b.Fatal("no record received")
	}
	b.ReportMetric(float64(got)/last.Sub(start).Seconds(), "records/s")
	b.ReportMetric(float64(r.Lost()-lost0)/float64(b.N)*100, "%lost")
}
