package nflog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os/exec"
	"testing"
)

// With br_netfilter, a packet bridged between two ports passes the inet
// forward hook; its record names the bridge as InIface and the ingress port
// as PhysInIface. This is how the daemon attributes a drop to a container's
// veth. Topology: ns a (192.0.2.1) -- [bridge ns: zwtest-o-br] -- ns b (192.0.2.2).
func TestReaderBridgedPacketNamesThePort(t *testing.T) {
	requirePriv(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	nsA, nsB, nsBr := "zwtest-o-"+id+"a", "zwtest-o-"+id+"b", "zwtest-o-"+id+"r"
	for _, n := range []string{nsA, nsB, nsBr} {
		run(t, "", "ip", "netns", "add", n)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", n).Run() })
	}
	run(t, "", "ip", "-n", nsBr, "link", "add", "zwtest-o-br", "type", "bridge")
	run(t, "", "ip", "-n", nsBr, "link", "set", "zwtest-o-br", "up")
	for _, end := range []struct{ ns, port, addr string }{{nsA, "zwtest-o-pa", "192.0.2.1/24"}, {nsB, "zwtest-o-pb", "192.0.2.2/24"}} {
		run(t, "", "ip", "-n", nsBr, "link", "add", end.port, "type", "veth", "peer", "name", "eth0", "netns", end.ns)
		run(t, "", "ip", "-n", nsBr, "link", "set", end.port, "master", "zwtest-o-br", "up")
		run(t, "", "ip", "-n", end.ns, "addr", "add", end.addr, "dev", "eth0")
		run(t, "", "ip", "-n", end.ns, "link", "set", "eth0", "up")
	}
	// br_netfilter's switch is per namespace.
	run(t, "", "ip", "netns", "exec", nsBr, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1")
	run(t, fmt.Sprintf(`table inet zwtest-o {
	chain forward_test {
		type filter hook forward priority -10; policy accept;
		udp dport 7778 log group %[1]d prefix "zwtest-o fwd" drop
	}
}
table bridge zwtest-o {
	chain forward_test {
		type filter hook forward priority 0; policy accept;
		udp dport 7779 log group %[1]d prefix "zwtest-o br"
	}
}`, testGroup), "ip", "netns", "exec", nsBr, "nft", "-f", "-")

	r, err := Open(testGroup, Options{NetNS: openNetNS(t, nsBr)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	srcPort := sendUDP(t, openNetNS(t, nsA), netip.MustParseAddr("192.0.2.2"), 7778)
	rec := readRecord(t, r)
	want := Record{Prefix: "zwtest-o fwd", HookFamily: nfprotoIPv4, Hook: 2, Family: 2, Proto: protoUDP,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2"), SrcPort: srcPort, DstPort: 7778,
		InIface: "zwtest-o-br", OutIface: "zwtest-o-br", PhysInIface: "zwtest-o-pa", PhysOutIface: "zwtest-o-pb"}
	want.OutIndex, want.PhysInIndex, want.PhysOutIndex = rec.OutIndex, rec.PhysInIndex, rec.PhysOutIndex
	checkRecord(t, rec, want)

	// A bridge-family rule sees the same packet with the same interfaces;
	// its payload also starts at the IP header.
	srcPort = sendUDP(t, openNetNS(t, nsA), netip.MustParseAddr("192.0.2.2"), 7779)
	rec = readRecord(t, r)
	want.Prefix, want.HookFamily, want.SrcPort, want.DstPort = "zwtest-o br", nfprotoBridge, srcPort, 7779
	checkRecord(t, rec, want)
}
