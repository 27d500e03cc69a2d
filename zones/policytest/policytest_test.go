package policytest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

func loadPolicy(t *testing.T) *zones.Policy {
	t.Helper()
	dir := t.TempDir()
	content := `zones:
  web: {members: [{name: web}]}
  api: {members: [{name: api}]}
flows:
  - {name: web-api, from: web, to: api, ports: [tcp/8080, icmp]}
  - {from: api, to: world, cidrs: [203.0.113.0/24], ports: [tcp/443]}
  - {from: world, to: web}
`
	if err := os.WriteFile(filepath.Join(dir, "z.yaml"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	pol, err := zones.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

func TestParseAndRun(t *testing.T) {
	pol := loadPolicy(t)
	data := `expect:
  - "web -> api tcp/8080: allow"
  - "web -> api tcp/8081: deny"
  - "web->api icmp: allow"
  - "api -> world:203.0.113.7 tcp/443: allow"
  - "api -> world:169.254.169.254 tcp/80: deny"
  - "world -> web: allow"
  - "api -> web tcp/80: allow"
`
	exps, err := Parse("t.yaml", []byte(data), pol)
	if err != nil {
		t.Fatal(err)
	}
	results := Run(pol, exps)
	var got []string
	for _, r := range results {
		got = append(got, r.Pos.String()+" "+map[bool]string{true: "PASS", false: "FAIL"}[r.Pass()]+" "+r.Decision.Reason)
	}
	want := []string{
		`t.yaml:2:5 PASS flow "web-api" (` + pol.Files[0] + `:5)`,
		`t.yaml:3:5 PASS no flow from web to api allows tcp/8081`,
		`t.yaml:4:5 PASS flow "web-api" (` + pol.Files[0] + `:5)`,
		`t.yaml:5:5 PASS flow "flow 2" (` + pol.Files[0] + `:6)`,
		`t.yaml:6:5 PASS world address 169.254.169.254 is a cloud metadata address; only a flow naming it in cidrs reaches it`,
		`t.yaml:7:5 PASS flow "flow 3" (` + pol.Files[0] + `:7)`,
		`t.yaml:8:5 FAIL no flow from api to web allows tcp/80`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := exps[4]; e.To.Kind != zones.KindWorld || e.To.Addr.String() != "169.254.169.254" || e.Proto != zones.ProtoTCP || e.Port != 80 || e.Allow {
		t.Errorf("parsed expectation 5 = %+v", e)
	}
}

func TestParseErrors(t *testing.T) {
	pol := loadPolicy(t)
	tests := []struct {
		name, data string
		want       []string
	}{
		{"bad lines", `expect:
  - "web -> apii tcp/80: allow"
  - "web -> api tcp: allow"
  - "web -> api tcp/80: maybe"
  - "web api tcp/80: allow"
  - "world:1.2.3 -> web tcp/80: allow"
  - "web -> api tcp/99999: allow"
  - "web -> api tcp/1-2: allow"
  - [web]
`, []string{
			`t.yaml:2:5: "web -> apii tcp/80: allow": to: unknown zone "apii" (did you mean "api"?)`,
			`t.yaml:3:5: "web -> api tcp: allow": tcp needs a port, e.g. tcp/443`,
			`t.yaml:4:5: "web -> api tcp/80: maybe": verdict "maybe": want allow or deny`,
			`t.yaml:5:5: "web api tcp/80: allow": want "FROM -> TO PROTO/PORT: allow|deny"`,
			`t.yaml:6:5: "world:1.2.3 -> web tcp/80: allow": from: "world:1.2.3": not an IP address after "world:"`,
			`t.yaml:7:5: "web -> api tcp/99999: allow": "tcp/99999": port out of range 1-65535`,
			`t.yaml:8:5: "web -> api tcp/1-2: allow": "tcp/1-2": give one port, not a range`,
			`t.yaml:9:5: expect: each item is a string like "web -> api tcp/8080: allow"`,
		}},
		{"unknown key", "expects:\n  - \"web -> api tcp/80: allow\"\n", []string{`t.yaml:1:1: unknown key "expects" in test file (the only key is "expect")`}},
		{"empty list", "expect: []\n", []string{`t.yaml:1:9: expect: expected a non-empty list of strings`}},
		{"empty file", "", []string{`t.yaml:1:1: empty test file; want "expect:" with a list of expectations`}},
		{"yaml syntax", "expect:\n\t- x\n", []string{`t.yaml:2:1: YAML syntax: found character that cannot start any token`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.data), pol)
			var list zones.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			if got := err.Error(); got != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", got, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestDomainNames: "world:NAME" is decided by the domain flows of the
// asking zone.
func TestDomainNames(t *testing.T) {
	dir := t.TempDir()
	content := `zones:
  worker: {members: [{name: worker}]}
  api: {members: [{name: api}]}
flows:
  - {name: payments, from: worker, to: world, domains: [api.stripe.com, "*.github.com"], ports: [tcp/443]}
`
	if err := os.WriteFile(filepath.Join(dir, "z.yaml"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	pol, err := zones.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := `expect:
  - "worker -> world:api.stripe.com tcp/443: allow"
  - "worker -> world:raw.github.com tcp/443: allow"
  - "worker -> world:github.com tcp/443: allow"
  - "api -> world:api.stripe.com tcp/443: deny"
  - "worker -> world:203.0.113.7 tcp/443: deny"
`
	exps, err := Parse("t.yaml", []byte(data), pol)
	if err != nil {
		t.Fatal(err)
	}
	var fails []string
	for _, r := range Run(pol, exps) {
		if !r.Pass() {
			fails = append(fails, r.Text)
		}
	}
	if want := "worker -> world:github.com tcp/443: allow"; strings.Join(fails, "\n") != want {
		t.Errorf("failing expectations: %q, want only %q", fails, want)
	}
	if _, err := Parse("t.yaml", []byte("expect:\n  - \"worker -> world:*.github.com tcp/443: allow\"\n"), pol); err == nil {
		t.Error("a wildcard after world: was accepted; a test names one name")
	}
}
