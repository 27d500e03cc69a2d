package learn

import (
	"errors"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/observe"
	"github.com/zonewall/zonewall/zones"
	"github.com/zonewall/zonewall/zones/policytest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)

func svc(project, service, image string) observe.Endpoint {
	return observe.Endpoint{Kind: observe.KindContainer, Compose: project + "/" + service, Image: image}
}

func obsv(from, to observe.Endpoint, proto string, port uint16, count uint64, minutes int) observe.Observation {
	return observe.Observation{From: from, To: to, Proto: proto, Port: port, Count: count,
		First: t0, Last: t0.Add(time.Duration(minutes) * time.Minute)}
}

func world(a string) observe.Endpoint {
	return observe.Endpoint{Kind: observe.KindWorld, Addr: netip.MustParseAddr(a)}
}

var host = observe.Endpoint{Kind: observe.KindHost}

// shop is a compose app: web -> api -> db, api to the host's exporter and
// to two world addresses, world -> web on a published port, DNS, a plain
// container of the same image as a compose service, and one of its own.
func shop() []observe.Observation {
	web, api, db := svc("shop", "web", "zwtest/busybox:1"), svc("shop", "api", "zwtest/busybox:1"), svc("shop", "db", "postgres:16")
	worker := observe.Endpoint{Kind: observe.KindContainer, Image: "zwtest/busybox:1", Name: "cron-1"}
	redis := observe.Endpoint{Kind: observe.KindContainer, Image: "redis:7", Name: "cache"}
	other := svc("billing", "api", "billing:3") // a second "api" service: names must not clash
	return []observe.Observation{
		obsv(web, api, "tcp", 8080, 120, 5),
		obsv(api, db, "tcp", 5432, 300, 6),
		obsv(api, host, "tcp", 9100, 4, 7),
		obsv(api, world("203.0.113.7"), "tcp", 443, 9, 8),
		obsv(api, world("2001:db8::7"), "tcp", 443, 2, 9),
		obsv(api, world("198.51.100.53"), "udp", 53, 30, 9),
		obsv(world("198.51.100.2"), web, "tcp", 80, 77, 10),
		obsv(host, web, "tcp", 80, 3, 10), // host -> container: a setting, not a flow
		obsv(worker, db, "tcp", 5432, 1, 11),
		obsv(worker, redis, "tcp", 6379, 5, 11),
		obsv(other, db, "tcp", 5432, 2, 12),
		obsv(web, api, "icmp", 0, 1, 12),
		obsv(web, api, "sctp", 9, 1, 12), // no sctp ports in zone files
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n%s", name, got)
	}
}

// check loads dir as zonewall check does and runs the test file as
// zonewall test does; every expectation must pass.
func check(t *testing.T, dir string, testFile []byte) *zones.Policy {
	t.Helper()
	p, err := zones.Load(dir)
	if err != nil {
		t.Fatalf("zonewall check fails on the learned files:\n%v", err)
	}
	exps, err := policytest.Parse("learned-test.yaml", testFile, p)
	if err != nil {
		t.Fatalf("the learned test file does not parse:\n%v", err)
	}
	for _, r := range policytest.Run(p, exps) {
		if !r.Pass() {
			t.Errorf("expectation fails: %+v: %s", r.Expectation, r.Decision.Reason)
		}
	}
	return p
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShopGolden(t *testing.T) {
	res, err := Generate(shop(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.yaml.golden", res.ZoneFile)
	golden(t, "shop-test.yaml.golden", res.TestFile)
	dir := t.TempDir()
	write(t, dir, "learned.yaml", res.ZoneFile)
	p := check(t, dir, res.TestFile)
	if res.Zones != len(p.Zones) || res.Flows != len(p.Flows) || res.Skipped != 2 || res.Covered != 1 || res.Denies == 0 {
		t.Errorf("result %d zones, %d flows, skipped %d, covered %d, denies %d; policy %d zones %d flows",
			res.Zones, res.Flows, res.Skipped, res.Covered, res.Denies, len(p.Zones), len(p.Flows))
	}
	// Every observed connection is allowed by what enforcement would load,
	// and a pair that never talked is not.
	web := zones.Peer{Kind: zones.KindZone, Zone: "web"}
	db := zones.Peer{Kind: zones.KindZone, Zone: "db"}
	if p.Decide(web, db, zones.ProtoTCP, 5432).Allow {
		t.Error("web -> db allowed, never observed")
	}
	api := zones.Peer{Kind: zones.KindZone, Zone: "shop-api"}
	if p.Decide(api, zones.Peer{Kind: zones.KindWorld, Addr: netip.MustParseAddr("203.0.113.8")}, zones.ProtoTCP, 443).Allow {
		t.Error("api -> an unobserved world address allowed")
	}
	// The plain container of a compose image is matched by name, not by
	// the image glob, so no compose container falls into two zones.
	shopAPI := zones.Container{Name: "shop-api-1", Image: "zwtest/busybox:1",
		Labels: map[string]string{zones.LabelComposeProject: "shop", zones.LabelComposeService: "api"}}
	if m := p.ZoneOf(shopAPI); m.Zone != "shop-api" {
		t.Errorf("shop/api container in zone %q (matched %v)", m.Zone, m.Matched)
	}
}

func TestStableBytes(t *testing.T) {
	a, err := Generate(shop(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 20; i++ {
		obs := shop()
		r.Shuffle(len(obs), func(i, j int) { obs[i], obs[j] = obs[j], obs[i] })
		b, _ := Generate(obs, Options{})
		if string(a.ZoneFile) != string(b.ZoneFile) || string(a.TestFile) != string(b.TestFile) {
			t.Fatalf("output depends on the order of observations")
		}
	}
}

func TestNothingObserved(t *testing.T) {
	if _, err := Generate(nil, Options{}); !errors.Is(err, ErrNothingObserved) {
		t.Fatalf("Generate(nil) = %v", err)
	}
}

// --extend proposes only what the current policy lacks, reuses its zones,
// and together with it passes check and the learned tests.
func TestExtend(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "10-shop.yaml", []byte(`zones:
  web:
    members:
      - compose: shop/web
  api:
    members:
      - compose: shop/api
flows:
  - from: web
    to: api
    ports: [tcp/8080]
  - from: world
    to: web
    ports: [tcp/80]
settings:
  mode: audit
`))
	pol, err := zones.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	obs := shop()
	for i := range obs { // recorded while that policy was in force
		for _, ep := range []*observe.Endpoint{&obs[i].From, &obs[i].To} {
			switch ep.Compose {
			case "shop/web":
				ep.Zone = "web"
			case "shop/api":
				ep.Zone = "api"
			}
		}
	}
	res, err := Generate(obs, Options{Extend: pol})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "shop-extend.yaml.golden", res.ZoneFile)
	golden(t, "shop-extend-test.yaml.golden", res.TestFile)
	if strings.Contains(string(res.ZoneFile), "tcp/8080") || strings.Contains(string(res.ZoneFile), "\n  web:") {
		t.Errorf("extend proposes what the policy has:\n%s", res.ZoneFile)
	}
	write(t, dir, "50-learned.yaml", res.ZoneFile)
	check(t, dir, res.TestFile)

	// Everything allowed already: nothing to propose.
	res2, err := Generate(obs[:1], Options{Extend: pol})
	if err != nil || res2.Flows != 0 || res2.Covered != 1 {
		t.Fatalf("extend with nothing new: %+v, %v", res2, err)
	}
}

// Hostile names (quotes, newlines, glob characters) stay one YAML value
// and match only themselves.
func TestHostileNames(t *testing.T) {
	evil := observe.Endpoint{Kind: observe.KindContainer, Image: "x\"y:1", Name: "a\nb: [*]"}
	evil2 := observe.Endpoint{Kind: observe.KindContainer, Compose: "p\"q/s\n- t", Image: "x\"y:1"}
	res, err := Generate([]observe.Observation{obsv(evil, evil2, "tcp", 1, 1, 1), obsv(evil2, world("192.0.2.1"), "tcp", 2, 1, 1)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, "learned.yaml", res.ZoneFile)
	p := check(t, dir, res.TestFile)
	if len(p.Zones) != 2 || len(p.Flows) != 2 {
		t.Fatalf("zones %d flows %d:\n%s", len(p.Zones), len(p.Flows), res.ZoneFile)
	}
	if m := p.ZoneOf(zones.Container{Name: "a\nb: [*]", Image: "x\"y:1"}); m.Zone == "" {
		t.Errorf("the evil container matches no learned zone:\n%s", res.ZoneFile)
	}
	if m := p.ZoneOf(zones.Container{Name: "a\nb: x", Image: "x\"y:1"}); m.Zone != "" {
		t.Errorf("a glob in a name matched another container")
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"api": "api", "My_Service.v2": "my_service-v2", "--x": "x", "": "zone",
		strings.Repeat("a", 40): strings.Repeat("a", 32),
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"postgres:16": "postgres", "reg:5000/app:1": "reg:5000/app", "a/b@sha256:x": "a/b", "plain": "plain"} {
		if got := imageRepo(in); got != want {
			t.Errorf("imageRepo(%q) = %q, want %q", in, got, want)
		}
	}
}

// An address the forwarder resolved from a name becomes a domain flow
// (tested by name); one reached without a lookup keeps a cidrs flow of
// its own on the same port; a name a zone file would refuse stays an
// address.
func TestDomains(t *testing.T) {
	api := svc("shop", "api", "zwtest/busybox:1")
	named := world("203.0.113.7")
	named.Domain = "API.Stripe.com."
	bad := world("203.0.113.9")
	bad.Domain = "not a name"
	obs := []observe.Observation{
		obsv(api, named, "tcp", 443, 3, 1),
		obsv(api, world("203.0.113.8"), "tcp", 443, 1, 2),
		obsv(api, bad, "tcp", 443, 1, 3),
	}
	res, err := Generate(obs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	zf, tf := string(res.ZoneFile), string(res.TestFile)
	for _, want := range []string{`domains: ["api.stripe.com"]`, `cidrs: ["203.0.113.8/32", "203.0.113.9/32"]`, `"api -> world:api.stripe.com tcp/443: allow"`} {
		if !strings.Contains(zf+tf, want) {
			t.Errorf("learned files lack %q:\n%s\n%s", want, zf, tf)
		}
	}
	dir := t.TempDir()
	write(t, dir, "learned.yaml", res.ZoneFile)
	p := check(t, dir, res.TestFile)
	if res.Flows != len(p.Flows) || res.Flows != 2 {
		t.Errorf("result %d flows, policy %d, want 2", res.Flows, len(p.Flows))
	}
	z := zones.Peer{Kind: zones.KindZone, Zone: "api"}
	if p.Decide(z, zones.Peer{Kind: zones.KindWorld, Name: "evil.example.com"}, zones.ProtoTCP, 443).Allow {
		t.Error("a name never observed is allowed")
	}
	// --extend: the domain flow in place covers the named observation.
	ext, err := Generate(obs, Options{Extend: p})
	if err != nil {
		t.Fatal(err)
	}
	if ext.Flows != 0 {
		t.Errorf("--extend over the learned policy proposes %d flows:\n%s", ext.Flows, ext.ZoneFile)
	}
}
