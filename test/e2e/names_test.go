package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"
)

// Egress by DNS name with real Docker: a DNS server of our own in the world
// namespace (198.51.100.2:53) is the forwarder's upstream and the resolver
// the containers are given (--dns); Docker's embedded DNS forwards to it
// from inside the container's namespace, `nslookup NAME 198.51.100.2` asks
// it directly. Both are redirected to zonewall's forwarder.
const (
	namesAPI   = "198.51.100.10" // api.test.zw (and the target of alias.test.zw)
	namesOther = "198.51.100.11" // other.test.zw: no flow lists it
	namesAlias = "198.51.100.12" // c.test.zw, reached through alias.test.zw's CNAME chain
)

const namesPolicy = `zones:
  worker:
    members:
      - name: "zwtest-e-nw*"
  other:
    members:
      - name: "zwtest-e-no*"
flows:
  - name: by-name
    from: worker
    to: world
    domains: [api.test.zw, alias.test.zw]
    ports: [tcp/443]
  - name: other-by-name
    from: other
    to: world
    domains: [nothing.test.zw]
    ports: [tcp/443]
`

// startWorldDNS serves test.zw. in the world namespace until the test ends.
func startWorldDNS(t *testing.T) {
	t.Helper()
	for _, a := range []string{namesAPI, namesOther, namesAlias} {
		must(t, "ip", "-n", worldNS, "addr", "add", a+"/32", "dev", worldNSIf)
		t.Cleanup(func() { _ = exec.Command("ip", "-n", worldNS, "addr", "del", a+"/32", "dev", worldNSIf).Run() })
	}
	records := map[string][]string{
		"api.test.zw.":   {"api.test.zw. 60 IN A " + namesAPI},
		"other.test.zw.": {"other.test.zw. 60 IN A " + namesOther},
		"alias.test.zw.": {"alias.test.zw. 60 IN CNAME mid.test.zw.", "mid.test.zw. 60 IN CNAME c.test.zw.", "c.test.zw. 60 IN A " + namesAlias},
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		for _, s := range records[strings.ToLower(q.Name)] {
			rr, _ := dns.NewRR(s)
			if q.Qtype == dns.TypeA || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
			}
		}
		if _, known := records[strings.ToLower(q.Name)]; !known {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread stays in the world namespace and dies with the goroutine
		ns, err := netns.GetFromName(worldNS)
		if err == nil {
			err = netns.Set(ns)
			ns.Close()
		}
		if err != nil {
			errc <- err
			return
		}
		pc, err := net.ListenPacket("udp", worldIP+":53")
		if err != nil {
			errc <- err
			return
		}
		ln, err := net.Listen("tcp", worldIP+":53")
		if err != nil {
			pc.Close()
			errc <- err
			return
		}
		u, tc := &dns.Server{PacketConn: pc, Handler: h}, &dns.Server{Listener: ln, Handler: h}
		go u.ActivateAndServe()
		go tc.ActivateAndServe()
		t.Cleanup(func() { u.Shutdown(); tc.Shutdown() })
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("DNS server in the world namespace: %v", err)
	}
}

// inContainer runs a shell line in a container and reports success.
func inContainer(name, script string) (string, bool) {
	out, err := exec.Command("docker", "exec", name, "sh", "-c", script).CombinedOutput()
	return string(out), err == nil
}

func TestEgressByName(t *testing.T) {
	requireSuite(t)
	ensureTopology(t)
	startWorldDNS(t)
	stopDaemon()
	writeZones(t, map[string]string{"names.yaml": namesPolicy})
	t.Setenv("ZONEWALL_DNS_UPSTREAMS", worldIP+":53")
	startDaemon(t)
	// The next test that needs the suite's policy starts its own daemon.
	t.Cleanup(stopDaemon)

	// nw1 uses Docker's embedded DNS (user-defined network, upstream --dns);
	// no1 is in another zone.
	for _, n := range []string{prefix + "-nw1", prefix + "-no1"} {
		server(t, n, "--network", netBack, "--dns", worldIP)
		waitRunning(t, n, 10*time.Second)
	}
	nw1, no1 := prefix+"-nw1", prefix+"-no1"
	waitStatus(t, 10*time.Second, "containers classified", func(st controlStatus) bool {
		n := 0
		for _, z := range st.Zones {
			n += len(z.Members)
		}
		return n >= 2
	})

	// Nothing is open before a lookup.
	expect(t, nw1, 0, deny("worker before any lookup", namesAPI, "443"))

	// Another zone's lookup opens nothing, for it or for worker.
	if out, ok := inContainer(no1, "nslookup api.test.zw"); !ok || !strings.Contains(out, namesAPI) {
		t.Fatalf("lookup from the other zone failed (names no flow of its own lists are answered with dns: allow):\n%s", out)
	}
	expect(t, no1, 0, deny("other zone after its own lookup of worker's name", namesAPI, "443"))
	expect(t, nw1, 0, deny("worker after another zone's lookup", namesAPI, "443"))

	// Embedded DNS: the first connection right after the lookup passes.
	for i := 0; i < 10; i++ {
		if out, ok := inContainer(nw1, fmt.Sprintf("nslookup api.test.zw >/dev/null && nc -w 2 %s 443 </dev/null", namesAPI)); !ok {
			t.Fatalf("worker: first connection after an embedded-DNS lookup failed (try %d):\n%s", i, out)
		}
	}
	// Own resolver, asked directly; a CNAME chain.
	if out, ok := inContainer(nw1, fmt.Sprintf("nslookup alias.test.zw %s >/dev/null && nc -w 2 %s 443 </dev/null", worldIP, namesAlias)); !ok {
		t.Fatalf("worker: first connection after a direct lookup of a CNAME failed:\n%s", out)
	}
	// A name no flow lists resolves but opens nothing; another port stays closed.
	if out, ok := inContainer(nw1, "nslookup other.test.zw"); !ok || !strings.Contains(out, namesOther) {
		t.Fatalf("unlisted name not answered:\n%s", out)
	}
	expect(t, nw1, 0, deny("unlisted name", namesOther, "443"), deny("listed name, port not in the flow", namesAPI, "8443"))

	st := waitStatus(t, 5*time.Second, "names in status", func(st controlStatus) bool {
		for _, n := range st.Names {
			if n.Zone == "worker" && n.Name == "api.test.zw" && n.LiveAddrs == 1 {
				return true
			}
		}
		return false
	})
	b, _ := json.Marshal(st.Names)
	t.Logf("status names: %s", b)
	if stdout, _, _ := zonewall(t, "status"); !strings.Contains(stdout, `worker  "api.test.zw": 1 address(es)`) {
		t.Errorf("zonewall status does not list the name:\n%s", stdout)
	}

	// A restart keeps what the kernel holds: no new lookup needed, and
	// status names it again.
	stopDaemon()
	startDaemon(t)
	expect(t, nw1, 5*time.Second, allow("worker after a daemon restart, without a new lookup", namesAPI, "443"))
	waitStatus(t, 5*time.Second, "names after restart", func(st controlStatus) bool {
		for _, n := range st.Names {
			if n.Zone == "worker" && n.Name == "api.test.zw" {
				return true
			}
		}
		return false
	})
	if t.Failed() {
		out, _ := exec.Command("nft", "list", "table", "inet", "zonewall_dns").CombinedOutput()
		fmt.Fprintf(os.Stderr, "%s\n", out)
	}
}
