package ctevents

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// needRoot skips without root, or fails when ZW_REQUIRE_PRIV=1 (CI).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
			t.Fatal("root required (ZW_REQUIRE_PRIV=1)")
		}
		t.Skip("needs root")
	}
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestEventsInNamespace opens TCP connections and a ping over the loopback of
// a throwaway namespace (a ct expression there turns tracking on) and reads
// their new-connection events: addresses and the destination port, never
// anything per packet.
func TestEventsInNamespace(t *testing.T) {
	needRoot(t)
	ns := fmt.Sprintf("zwtest-l-ct-%06x", rand.IntN(1<<24))
	run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	run(t, "ip", "netns", "exec", ns, "nft", "add table inet zwtest-l-ct; add chain inet zwtest-l-ct out { type filter hook output priority 0; ct state new counter; }")

	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Open(Options{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// A TCP server and three connections to it, one ping.
	srv := exec.Command("ip", "netns", "exec", ns, "busybox", "nc", "-ll", "-p", "8080", "-e", "true")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 3; i++ {
		exec.Command("ip", "netns", "exec", ns, "busybox", "nc", "-w", "1", "127.0.0.1", "8080").Run()
	}
	exec.Command("ip", "netns", "exec", ns, "busybox", "ping", "-c", "1", "127.0.0.1").Run()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lo := netip.MustParseAddr("127.0.0.1")
	var tcp, icmp int
	ports := map[uint16]bool{}
	for tcp < 3 || icmp < 1 {
		ev, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("after %d tcp, %d icmp events: %v", tcp, icmp, err)
		}
		if ev.Orig.Src != lo || ev.Orig.Dst != lo || ev.Reply.Src != lo {
			t.Errorf("event %+v: want loopback addresses", ev)
		}
		switch {
		case ev.Proto == 6 && ev.Orig.DstPort == 8080 && ev.Reply.SrcPort == 8080:
			tcp++
			ports[ev.Orig.SrcPort] = true
		case ev.Proto == 1:
			icmp++
		default:
			t.Logf("other event %+v", ev)
		}
	}
	if len(ports) != 3 {
		t.Errorf("source ports %v: want 3 distinct ephemeral ports", ports)
	}
	// Closing unblocks a pending Read.
	done := make(chan error, 1)
	go func() { _, err := r.Read(context.Background()); done <- err }()
	time.Sleep(50 * time.Millisecond)
	r.Close()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Errorf("Read after Close = %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("Close did not unblock Read")
	}
}
