package nflog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requirePriv skips (or, with ZW_REQUIRE_PRIV=1, fails) a test that needs
// root, ip and nft.
func requirePriv(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
		t.Fatalf("kernel test needs %s (ZW_REQUIRE_PRIV=1)", strings.Join(missing, ", "))
	}
	t.Skipf("kernel test needs %s", strings.Join(missing, ", "))
}

// linkedNamespaces is two throwaway network namespaces joined by a veth
// pair: "client" 192.0.2.1 / 2001:db8:7::1 and "server" 192.0.2.2 / 2001:db8:7::2.
type linkedNamespaces struct {
	client, server     string // names under /run/netns
	clientFD, serverFD int
}

func run(t testing.TB, stdin string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func newLinkedNamespaces(t testing.TB) *linkedNamespaces {
	t.Helper()
	requirePriv(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	ns := &linkedNamespaces{client: "zwtest-o-" + id + "c", server: "zwtest-o-" + id + "s"}
	for _, n := range []string{ns.client, ns.server} {
		run(t, "", "ip", "netns", "add", n)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", n).Run() })
	}
	run(t, "", "ip", "-n", ns.client, "link", "add", "zwtest-o-c", "type", "veth", "peer", "name", "zwtest-o-s", "netns", ns.server)
	for _, side := range []struct{ ns, dev, v4, v6 string }{
		{ns.client, "zwtest-o-c", "192.0.2.1/24", "2001:db8:7::1/64"},
		{ns.server, "zwtest-o-s", "192.0.2.2/24", "2001:db8:7::2/64"},
	} {
		run(t, "", "ip", "-n", side.ns, "addr", "add", side.v4, "dev", side.dev)
		run(t, "", "ip", "-n", side.ns, "addr", "add", side.v6, "dev", side.dev, "nodad")
		run(t, "", "ip", "-n", side.ns, "link", "set", side.dev, "up")
		run(t, "", "ip", "-n", side.ns, "link", "set", "lo", "up")
	}
	ns.clientFD = openNetNS(t, ns.client)
	ns.serverFD = openNetNS(t, ns.server)
	return ns
}

func openNetNS(t testing.TB, name string) int {
	t.Helper()
	fd, err := unix.Open("/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}

// nft loads a ruleset into a namespace.
func (ns *linkedNamespaces) nft(t testing.TB, netns, ruleset string) {
	t.Helper()
	run(t, ruleset, "ip", "netns", "exec", netns, "nft", "-f", "-")
}

func (ns *linkedNamespaces) String() string { return fmt.Sprintf("%s<->%s", ns.client, ns.server) }
