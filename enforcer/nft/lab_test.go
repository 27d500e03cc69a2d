package nft

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The lab is a throwaway network namespace acting as the Docker host
// ("router": bridges, forwarding, our tables) with one namespace per fake
// container joined to a bridge by a veth named like Docker's, and a
// "world" namespace on a documentation range. Everything is named
// zwtest-k-<random>-... and deleted by name at the end of the test.

func requirePriv(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err == nil {
			return
		}
	}
	if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
		t.Fatal("kernel test needs root and iproute2 (ZW_REQUIRE_PRIV=1)")
	}
	t.Skip("kernel test needs root and iproute2")
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

type lab struct {
	t      testing.TB
	prefix string
	router string
	fd     int // router netns fd
	mu     sync.Mutex
	ctrs   map[string]*fakeContainer
}

type fakeContainer struct {
	name   string
	bridge string
	mac    string
	ns     string
	veth   string
	ip4    netip.Addr
	ip6    netip.Addr
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newLab(t testing.TB) *lab { return newLabPrefixed(t, "zwtest-k-") }

// newLabPrefixed is newLab with another name prefix (each engineer's tests
// use their own).
func newLabPrefixed(t testing.TB, prefix string) *lab {
	requirePriv(t)
	l := &lab{t: t, prefix: prefix + randHex(6), ctrs: map[string]*fakeContainer{}}
	l.router = l.prefix + "-r"
	l.addNS(l.router)
	f, err := os.Open("/run/netns/" + l.router)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	l.fd = int(f.Fd())
	l.sysctl(l.router, "net.ipv4.ip_forward", "1")
	l.sysctl(l.router, "net.ipv6.conf.all.forwarding", "1")
	// Stop TIME_WAIT entries from filling conntrack in connection-rate runs.
	run(t, "ip", "-n", l.router, "link", "set", "lo", "up")
	return l
}

func (l *lab) addNS(name string) {
	run(l.t, "ip", "netns", "add", name)
	l.t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
}

func (l *lab) sysctl(ns, key, val string) {
	run(l.t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", key+"="+val)
}

// enableBridgeNetfilter turns br_netfilter on inside the router namespace
// (the sysctls are per namespace) using the code under test.
func (l *lab) enableBridgeNetfilter() {
	inNS(l.t, l.router, func() {
		if _, err := CheckBridgeNetfilter(); err != nil {
			l.t.Fatal(err)
		}
	})
}

func (l *lab) addBridge(name string, gw4, gw6 string) {
	r := l.router
	run(l.t, "ip", "-n", r, "link", "add", name, "type", "bridge")
	run(l.t, "ip", "-n", r, "addr", "add", gw4, "dev", name)
	run(l.t, "ip", "-n", r, "addr", "add", gw6, "dev", name, "nodad")
	run(l.t, "ip", "-n", r, "link", "set", name, "up")
}

// addContainer makes a namespace with eth0 on bridge br; its host end is
// veth<7 hex>, like Docker's.
func (l *lab) addContainer(name, br, ip4, ip6, gw4, gw6 string) *fakeContainer {
	c := &fakeContainer{name: name, bridge: br, ns: l.prefix + "-" + name, veth: "veth" + randHex(7),
		ip4: netip.MustParseAddr(ip4), ip6: netip.MustParseAddr(ip6)}
	l.addNS(c.ns)
	run(l.t, "ip", "-n", l.router, "link", "add", c.veth, "type", "veth", "peer", "name", "eth0", "netns", c.ns)
	run(l.t, "ip", "-n", l.router, "link", "set", c.veth, "master", br, "up")
	run(l.t, "ip", "-n", c.ns, "link", "set", "lo", "up")
	run(l.t, "ip", "-n", c.ns, "addr", "add", ip4+"/24", "dev", "eth0")
	run(l.t, "ip", "-n", c.ns, "addr", "add", ip6+"/64", "dev", "eth0", "nodad")
	run(l.t, "ip", "-n", c.ns, "link", "set", "eth0", "up")
	c.mac = macOf(l.t, c.ns).String()
	run(l.t, "ip", "-n", c.ns, "route", "add", "default", "via", gw4)
	run(l.t, "ip", "-n", c.ns, "-6", "route", "add", "default", "via", gw6)
	l.mu.Lock()
	l.ctrs[name] = c
	l.mu.Unlock()
	return c
}

// removeContainer deletes the namespace (and with it the veth pair).
func (l *lab) removeContainer(c *fakeContainer) {
	run(l.t, "ip", "netns", "del", c.ns)
}

// addWorld makes the "world" namespace: 198.51.100.2 and 2001:db8:100::2 on
// a link to the router, plus 203.0.113.2 and 2001:db8:200::2 behind it
// (outside the flows' cidrs) and the metadata addresses.
func (l *lab) addWorld() string {
	w := l.prefix + "-w"
	l.addNS(w)
	r := l.router
	run(l.t, "ip", "-n", r, "link", "add", "wld0", "type", "veth", "peer", "name", "eth0", "netns", w)
	run(l.t, "ip", "-n", r, "addr", "add", "198.51.100.1/24", "dev", "wld0")
	run(l.t, "ip", "-n", r, "addr", "add", "2001:db8:100::1/64", "dev", "wld0", "nodad")
	run(l.t, "ip", "-n", r, "link", "set", "wld0", "up")
	run(l.t, "ip", "-n", r, "route", "add", "203.0.113.0/24", "via", "198.51.100.2")
	run(l.t, "ip", "-n", r, "-6", "route", "add", "2001:db8:200::/64", "via", "2001:db8:100::2")
	run(l.t, "ip", "-n", w, "link", "set", "lo", "up")
	run(l.t, "ip", "-n", w, "addr", "add", "198.51.100.2/24", "dev", "eth0")
	run(l.t, "ip", "-n", w, "addr", "add", "2001:db8:100::2/64", "dev", "eth0", "nodad")
	run(l.t, "ip", "-n", w, "addr", "add", "203.0.113.2/32", "dev", "lo")
	run(l.t, "ip", "-n", w, "addr", "add", "2001:db8:200::2/128", "dev", "lo")
	// The cloud metadata addresses, also behind the world namespace.
	run(l.t, "ip", "-n", w, "addr", "add", "169.254.169.254/32", "dev", "lo")
	run(l.t, "ip", "-n", w, "addr", "add", "fd00:ec2::254/128", "dev", "lo")
	run(l.t, "ip", "-n", r, "route", "add", "169.254.169.254/32", "via", "198.51.100.2")
	run(l.t, "ip", "-n", r, "-6", "route", "add", "fd00:ec2::254/128", "via", "2001:db8:100::2")
	run(l.t, "ip", "-n", w, "link", "set", "eth0", "up")
	run(l.t, "ip", "-n", w, "route", "add", "default", "via", "198.51.100.1")
	run(l.t, "ip", "-n", w, "-6", "route", "add", "default", "via", "2001:db8:100::1")
	return w
}

// inNS runs fn on an OS thread switched into namespace ns. Sockets created
// by fn stay in that namespace. The thread is discarded afterwards.
func inNS(t testing.TB, ns string, fn func()) {
	done := make(chan struct{})
	var ferr error
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.GetFromName(ns)
		if err != nil {
			ferr = err
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ferr = err
			return
		}
		fn()
	}()
	<-done
	if ferr != nil {
		t.Fatalf("entering %s: %v", ns, ferr)
	}
}

// server listens on TCP and UDP ports in a namespace and records the
// source address of every connection/datagram it answers.
type server struct {
	mu   sync.Mutex
	seen map[string]int // source address -> count
}

func (s *server) saw(a netip.Addr) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[a.Unmap().String()]
}

func (s *server) record(a net.Addr) {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	s.mu.Lock()
	s.seen[ap.Addr().Unmap().String()]++
	s.mu.Unlock()
}

func serve(t testing.TB, ns string, tcpPorts, udpPorts []int) *server {
	s := &server{seen: map[string]int{}}
	inNS(t, ns, func() {
		for _, p := range tcpPorts {
			ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
			if err != nil {
				t.Errorf("listen tcp/%d in %s: %v", p, ns, err)
				return
			}
			t.Cleanup(func() { ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					s.record(c.RemoteAddr())
					_, _ = c.Write([]byte("ok\n"))
					c.Close()
				}
			}()
		}
		for _, p := range udpPorts {
			pc, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p))
			if err != nil {
				t.Errorf("listen udp/%d in %s: %v", p, ns, err)
				return
			}
			t.Cleanup(func() { pc.Close() })
			go func() {
				buf := make([]byte, 1500)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					s.record(from)
					_, _ = pc.WriteTo(buf[:n], from)
				}
			}()
		}
	})
	return s
}

const probeTimeout = 400 * time.Millisecond

// probe opens a connection (tcp) or sends a datagram and waits for the echo
// (udp) from namespace ns to dst, optionally from a forged local address.
// It reports whether an answer came back.
func probe(t testing.TB, ns, proto string, dst netip.AddrPort, local netip.Addr) bool {
	return probeWait(t, ns, proto, dst, local, probeTimeout)
}

// probeWait is probe with a given timeout.
func probeWait(t testing.TB, ns, proto string, dst netip.AddrPort, local netip.Addr, probeTimeout time.Duration) bool {
	ok := false
	inNS(t, ns, func() {
		d := net.Dialer{Timeout: probeTimeout}
		if local.IsValid() {
			if proto == "tcp" {
				d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
			} else {
				d.LocalAddr = &net.UDPAddr{IP: local.AsSlice()}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		c, err := d.DialContext(ctx, proto, dst.String())
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(probeTimeout))
		if proto == "udp" {
			if _, err := c.Write([]byte("ping\n")); err != nil {
				return
			}
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		ok = err == nil && (line == "ok\n" || line == "ping\n")
	})
	return ok
}

// ping sends one ICMP echo (busybox ping) and reports whether it answered.
func ping(t testing.TB, ns string, dst netip.Addr) bool {
	args := []string{"netns", "exec", ns, "busybox", "ping", "-c", "1", "-W", "1"}
	if dst.Is6() {
		args = []string{"netns", "exec", ns, "busybox", "ping", "-6", "-c", "1", "-W", "1"}
	}
	return exec.Command("ip", append(args, dst.String())...).Run() == nil
}

// nftIn runs the nft command inside the router namespace.
func (l *lab) nft(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.router, "nft"}, args...)...).CombinedOutput()
	return string(out), err
}
