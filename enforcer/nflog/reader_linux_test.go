package nflog

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

const testGroup = 2301

// serverRuleset logs and drops test traffic arriving in the server namespace.
// Packets are marked in prerouting so that the mark shows in the record.
var serverRuleset = fmt.Sprintf(`
table inet zwtest-o {
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		ip saddr 192.0.2.1 meta mark set 0x2a
	}
	chain in {
		type filter hook input priority 0; policy accept;
		tcp dport 7777 log group %[1]d prefix "zwtest-o tcp" drop
		udp dport 7778 log group %[1]d prefix "zwtest-o udp" drop
		icmp type echo-request log group %[1]d prefix "zwtest-o icmp" drop
	}
}
`, testGroup)

func TestReaderDecodesLoggedPackets(t *testing.T) {
	ns := newLinkedNamespaces(t)
	ns.nft(t, ns.server, serverRuleset)
	r, err := Open(testGroup, Options{NetNS: ns.serverFD})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })

	client4 := netip.MustParseAddr("192.0.2.1")
	server4 := netip.MustParseAddr("192.0.2.2")
	client6 := netip.MustParseAddr("2001:db8:7::1")
	server6 := netip.MustParseAddr("2001:db8:7::2")

	t.Run("tcp syn", func(t *testing.T) {
		srcPort := sendTCPSyn(t, ns.clientFD, server4, 7777)
		rec := readRecord(t, r)
		want := Record{Prefix: "zwtest-o tcp", HookFamily: nfprotoIPv4, Hook: 1, Family: 2, Proto: protoTCP,
			Src: client4, Dst: server4, SrcPort: srcPort, DstPort: 7777, Mark: 0x2a, InIface: "zwtest-o-s"}
		checkRecord(t, rec, want)
		if rec.TCPFlags&0x02 == 0 {
			t.Errorf("TCP flags %#x: SYN not set", rec.TCPFlags)
		}
	})
	t.Run("udp v4", func(t *testing.T) {
		srcPort := sendUDP(t, ns.clientFD, server4, 7778)
		rec := readRecord(t, r)
		checkRecord(t, rec, Record{Prefix: "zwtest-o udp", HookFamily: nfprotoIPv4, Hook: 1, Family: 2, Proto: protoUDP,
			Src: client4, Dst: server4, SrcPort: srcPort, DstPort: 7778, Mark: 0x2a, InIface: "zwtest-o-s"})
		if rec.Length != 20+8+5 {
			t.Errorf("length %d, want %d", rec.Length, 20+8+5)
		}
	})
	t.Run("udp v6", func(t *testing.T) {
		srcPort := sendUDP(t, ns.clientFD, server6, 7778)
		rec := readRecord(t, r)
		checkRecord(t, rec, Record{Prefix: "zwtest-o udp", HookFamily: nfprotoIPv6, Hook: 1, Family: 10, Proto: protoUDP,
			Src: client6, Dst: server6, SrcPort: srcPort, DstPort: 7778, InIface: "zwtest-o-s"})
	})
	t.Run("icmp echo", func(t *testing.T) {
		sendICMPEcho(t, ns.clientFD, server4)
		rec := readRecord(t, r)
		checkRecord(t, rec, Record{Prefix: "zwtest-o icmp", HookFamily: nfprotoIPv4, Hook: 1, Family: 2, Proto: protoICMP,
			Src: client4, Dst: server4, ICMPType: 8, Mark: 0x2a, InIface: "zwtest-o-s"})
	})
	if r.Lost() != 0 || r.Overruns() != 0 {
		t.Errorf("lost %d, overruns %d; want none", r.Lost(), r.Overruns())
	}
}

func TestReaderGroupIsExclusive(t *testing.T) {
	ns := newLinkedNamespaces(t)
	r, err := Open(testGroup, Options{NetNS: ns.serverFD})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r2, err := Open(testGroup, Options{NetNS: ns.serverFD}); err == nil {
		r2.Close()
		t.Fatal("second Open of the same group succeeded; want EPERM")
	} else if !errors.Is(err, unix.EPERM) {
		t.Fatalf("second Open: %v; want EPERM", err)
	}
	// After Close the group is free again.
	r.Close()
	r3, err := Open(testGroup, Options{NetNS: ns.serverFD})
	if err != nil {
		t.Fatalf("reopen after Close: %v", err)
	}
	r3.Close()
}

func TestReaderReadStopsOnContextAndClose(t *testing.T) {
	ns := newLinkedNamespaces(t)
	r, err := Open(testGroup, Options{NetNS: ns.serverFD})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := r.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with nothing logged: %v; want deadline exceeded", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Read after Close: %v; want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Read still blocked 3s after Close")
	}
}

// A burst into a tiny receive buffer overflows it; the reader counts what
// was lost and keeps delivering afterwards.
func TestReaderCountsLossesAndKeepsGoing(t *testing.T) {
	ns := newLinkedNamespaces(t)
	ns.nft(t, ns.server, serverRuleset)
	r, err := Open(testGroup, Options{NetNS: ns.serverFD, ReadBuffer: 4096, NoNames: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })

	const burst = 400
	c := udpSocket(t, ns.clientFD, netip.MustParseAddr("192.0.2.2"))
	to := &unix.SockaddrInet4{Port: 7778, Addr: [4]byte{192, 0, 2, 2}}
	for i := 0; i < burst; i++ {
		if err := c.Sendto(context.Background(), []byte("burst"), 0, to); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	received, firstSeq := drain(t, r)
	if received == 0 {
		t.Fatal("no record received after the burst")
	}
	// One more packet after the overrun must still arrive.
	if err := c.Sendto(context.Background(), []byte("after"), 0, to); err != nil {
		t.Fatal(err)
	}
	rec := readRecord(t, r)
	received++
	if rec.Seq != burst {
		t.Errorf("last record has seq %d, want %d", rec.Seq, burst)
	}
	t.Logf("burst %d+1: received %d, lost %d, overruns %d", burst, received, r.Lost(), r.Overruns())
	if r.Lost() == 0 || r.Overruns() == 0 {
		t.Fatalf("lost %d, overruns %d: the burst did not overflow a 4 KiB buffer, or losses went uncounted", r.Lost(), r.Overruns())
	}
	if got, want := uint64(received)+r.Lost(), uint64(burst+1-firstSeq); got != want {
		t.Errorf("received %d + lost %d = %d, want %d messages", received, r.Lost(), got, want)
	}
}

// drain reads until nothing arrives for 300 ms.
func drain(t *testing.T, r *Reader) (n int, firstSeq uint32) {
	t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		rec, err := r.Read(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return n, firstSeq
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if n == 0 {
			firstSeq = rec.Seq
		}
		n++
	}
}

func readRecord(t *testing.T, r *Reader) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := r.Read(ctx)
	if err != nil {
		t.Fatalf("read record: %v", err)
	}
	return rec
}

func checkRecord(t *testing.T, got, want Record) {
	t.Helper()
	if got.Time.IsZero() || time.Since(got.Time) > time.Minute {
		t.Errorf("record time %v is not recent", got.Time)
	}
	if got.InIndex == 0 {
		t.Errorf("record has no input interface index")
	}
	// Fields that the test cannot predict are copied over before comparing.
	want.Time, want.InIndex, want.Seq, want.TCPFlags, want.Length = got.Time, got.InIndex, got.Seq, got.TCPFlags, got.Length
	if got != want {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
}

func sockaddr(addr netip.Addr, port int) unix.Sockaddr {
	if addr.Is4() {
		return &unix.SockaddrInet4{Port: port, Addr: addr.As4()}
	}
	return &unix.SockaddrInet6{Port: port, Addr: addr.As16()}
}

func family(addr netip.Addr) int {
	if addr.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func localPort(t *testing.T, c *socket.Conn) uint16 {
	t.Helper()
	sa, err := c.Getsockname()
	if err != nil {
		t.Fatal(err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return uint16(sa.Port)
	case *unix.SockaddrInet6:
		return uint16(sa.Port)
	}
	t.Fatalf("unexpected local address %T", sa)
	return 0
}

// sendTCPSyn opens a connection from the client namespace; the server's
// ruleset drops the SYN, so the attempt times out.
func sendTCPSyn(t *testing.T, nsFD int, dst netip.Addr, port int) uint16 {
	t.Helper()
	c, err := socket.Socket(family(dst), unix.SOCK_STREAM, 0, "zwtest-o-tcp", &socket.Config{NetNS: nsFD})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Connect(ctx, sockaddr(dst, port)); err == nil {
		t.Fatal("TCP connect succeeded through a dropping rule")
	}
	return localPort(t, c)
}

func udpSocket(t testing.TB, nsFD int, dst netip.Addr) *socket.Conn {
	t.Helper()
	c, err := socket.Socket(family(dst), unix.SOCK_DGRAM, 0, "zwtest-o-udp", &socket.Config{NetNS: nsFD})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func sendUDP(t *testing.T, nsFD int, dst netip.Addr, port int) uint16 {
	t.Helper()
	c := udpSocket(t, nsFD, dst)
	if err := c.Sendto(context.Background(), []byte("hello"), 0, sockaddr(dst, port)); err != nil {
		t.Fatal(err)
	}
	return localPort(t, c)
}

func sendICMPEcho(t *testing.T, nsFD int, dst netip.Addr) {
	t.Helper()
	c, err := socket.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, "zwtest-o-icmp", &socket.Config{NetNS: nsFD})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo := []byte{8, 0, 0, 0, 0x12, 0x34, 0, 1}
	sum := ^internetChecksum(echo)
	echo[2], echo[3] = byte(sum>>8), byte(sum)
	if err := c.Sendto(context.Background(), echo, 0, sockaddr(dst, 0)); err != nil {
		t.Fatal(err)
	}
}

func internetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}
