package zones

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// errorLineRE is the shape every Load error must have: file:line:col: msg.
var errorLineRE = regexp.MustCompile(`^(.+):([1-9][0-9]*):([1-9][0-9]*): \S`)

func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"version: 1\n",
		"zones:\n  web:\n    members:\n      - compose: shop/web\nflows:\n  - from: world\n    to: web\n    ports: [tcp/80]\n",
		"zones:\n  a:\n    members: [{label: x=y, network: n}]\nflows:\n  - {from: [a], to: world, cidrs: [\"2001:db8::/32\"], ports: [udp/53, tcp/1-2]}\n",
		"flows:\n  - form: web\n    to: apii\n",
		"zones: &z\n  a: *z\n",
		"settings:\n  mode: audit\n  dns: deny\nsettings: {}\n",
		"- a\n- b\n",
		"zones:\n  a:\n    members:\n      - name: \"[\"\n",
		"---\nversion: 1\n---\nversion: 2\n",
		"zones: {a: {members: [{image: \"postgres:*\"}]}}\nflows: [{from: a, to: a, ports: [icmp, icmpv6, tcp, udp]}]\n",
		"\t\x00",
		// Alias-heavy inputs: expansion must stay bounded (MaxAliasValues).
		"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\nd: [*c, *c, *c, *c]\n",
		"zones: {a: {members: &m [{name: a}, {label: t}]}, b: {members: *m}}\nflows: [{from: a, to: b, ports: &p [tcp/1, udp/2]}, {from: b, to: a, ports: *p}]\n",
		"x: &x {a: *x}\n",
		"zones:\n  a: &z {members: [{name: a}]}\n  b:\n    <<: *z\n",
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
		aliasBomb(5, 40),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		// Reading files has its own tests (hostile_test.go); parsing from
		// memory keeps the fuzzer fast.
		file := filepath.Join("zones.d", "fuzz.yaml")
		pol, err := LoadSources([]Source{{Path: file, Name: "fuzz.yaml", Data: []byte(content)}})
		if err == nil {
			if pol == nil {
				t.Fatal("nil policy without error")
			}
			exerciseDecide(pol)
			return
		}
		if pol != nil {
			t.Fatal("policy returned together with an error")
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %v", err)
		}
		for _, e := range list {
			line := e.Error()
			if strings.Contains(line, "\n") {
				t.Fatalf("error spans lines: %q", line)
			}
			m := errorLineRE.FindStringSubmatch(line)
			if m == nil || m[1] != file {
				t.Fatalf("error does not start with %s:LINE:COL: %q", file, line)
			}
		}
	})
}

// exerciseDecide runs the verdict and membership code on a fuzzed policy, so
// a valid but odd policy cannot panic them.
func exerciseDecide(p *Policy) {
	peers := []Peer{{Kind: KindWorld}, {Kind: KindHost}, {Kind: KindZone}}
	zones := p.Zones
	if len(zones) > 8 {
		zones = zones[:8] // keep each run fast; the pairs grow quadratically
	}
	for _, z := range zones {
		peers = append(peers, Peer{Kind: KindZone, Zone: z.Name})
		p.ZoneOf(Container{Name: z.Name, Image: "postgres:16", Labels: map[string]string{"tier": z.Name}})
	}
	for _, a := range peers {
		for _, b := range peers {
			p.Decide(a, b, ProtoTCP, 443)
			p.Decide(a, b, ProtoAny, 0)
		}
	}
}
