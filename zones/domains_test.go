package zones

import (
	"strings"
	"testing"
)

const domainPolicy = `zones:
  worker: {members: [{name: worker}]}
  api: {members: [{name: api}]}
flows:
  - name: payments
    from: worker
    to: world
    domains: [api.stripe.com, "*.github.com", Example.ORG.]
    ports: [tcp/443]
  - from: api
    to: world
    cidrs: [203.0.113.0/24]
    ports: [tcp/443]
  - from: api
    to: world
    ports: [tcp/22]
`

func name(n string) Peer { return Peer{Kind: KindWorld, Name: n} }

func TestDecideDomains(t *testing.T) {
	pol := mustLoad(t, domainPolicy)
	noName := " (a name is allowed by a flow whose domains match it, or by a flow to all of world)"
	runDecideCases(t, pol, []decideCase{
		{zone("worker"), name("api.stripe.com"), ProtoTCP, 443, true, `flow "payments" (FILE:5), api.stripe.com matches domain "api.stripe.com"`},
		{zone("worker"), name("example.org"), ProtoTCP, 443, true, `flow "payments" (FILE:5), example.org matches domain "example.org"`},
		{zone("worker"), name("codeload.github.com"), ProtoTCP, 443, true, `flow "payments" (FILE:5), codeload.github.com matches domain "*.github.com"`},
		{zone("worker"), name("a.b.github.com"), ProtoTCP, 443, true, `flow "payments" (FILE:5), a.b.github.com matches domain "*.github.com"`},
		// The wildcard is strictly below: not github.com itself, nor a
		// name that merely ends in the same letters.
		{zone("worker"), name("github.com"), ProtoTCP, 443, false, `no flow from worker to world:github.com allows tcp/443` + noName},
		{zone("worker"), name("evilgithub.com"), ProtoTCP, 443, false, `no flow from worker to world:evilgithub.com allows tcp/443` + noName},
		{zone("worker"), name("stripe.com"), ProtoTCP, 443, false, `no flow from worker to world:stripe.com allows tcp/443` + noName},
		{zone("worker"), name("api.stripe.com"), ProtoTCP, 80, false, `no flow from worker to world:api.stripe.com allows tcp/80` + noName},
		// Another zone's flow opens nothing for this one.
		{zone("api"), name("api.stripe.com"), ProtoTCP, 443, false, `no flow from api to world:api.stripe.com allows tcp/443` + noName},
		// A flow to all of world covers every name; one narrowed by cidrs
		// cannot be judged for a name offline, so it does not.
		{zone("api"), name("api.stripe.com"), ProtoTCP, 22, true, `flow "flow 3" (FILE:14)`},
		// An address reached without a lookup is not allowed by a domain flow.
		{zone("worker"), world("198.51.100.7"), ProtoTCP, 443, false,
			`no flow from worker to world:198.51.100.7 allows tcp/443 (domain flows allow only addresses resolved by a lookup; ask about world:NAME)`},
		// DNS itself is a setting (dns: allow by default).
		{zone("worker"), name("api.stripe.com"), ProtoUDP, 53, true, `settings.dns: allow`},
	})
}

func TestDomainMatches(t *testing.T) {
	for _, c := range []struct {
		domain, q string
		want      bool
	}{
		{"api.stripe.com", "API.Stripe.com.", true},
		{"api.stripe.com", "x.api.stripe.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com.", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "badexample.com", false},
		{"*.example.com", "example.com.evil.net", false},
	} {
		d, err := ParseDomain(c.domain)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Matches(c.q); got != c.want {
			t.Errorf("%s matches %q = %v, want %v", c.domain, c.q, got, c.want)
		}
	}
}

func TestLoadDomainErrors(t *testing.T) {
	flow := func(body string) map[string]string {
		return map[string]string{"a.yaml": baseZones + "flows:\n  - from: web\n" + body}
	}
	long := strings.Repeat("a", 63)
	tooLong := strings.Join([]string{long, long, long, long}, ".") + ".com" // 259 characters
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"with cidrs", flow("    to: world\n    cidrs: [203.0.113.0/24]\n    domains: [api.stripe.com]\n"),
			[]string{`a.yaml:12:5: flow 1: domains and cidrs cannot be given in one flow; split it into two flows`}},
		{"to a zone", flow("    to: api\n    domains: [api.stripe.com]\n"),
			[]string{`a.yaml:11:5: flow 1: domains is only valid when to is world`}},
		{"from world", map[string]string{"a.yaml": baseZones + "flows:\n  - from: world\n    to: web\n    domains: [a.example.com]\n"},
			[]string{`a.yaml:11:5: flow 1: domains is only valid on flows to world (egress by name); for traffic from world use cidrs`}},
		{"bad names", flow("    to: world\n    domains:\n      - https://api.stripe.com/v1\n      - 203.0.113.7\n      - api.stripe.com:443\n      - \"api.*.com\"\n      - a..b\n      - -a.com\n      - \"a b.com\"\n      - " + tooLong + "\n      - \"*\"\n      - [x]\n      - API.stripe.com\n      - api.stripe.com.\n"),
			[]string{
				`a.yaml:12:9: domains: "https://api.stripe.com/v1": a DNS name, not a URL (did you mean "api.stripe.com"?)`,
				`a.yaml:13:9: domains: "203.0.113.7": an IP address, not a DNS name; list addresses in cidrs (a flow has either domains or cidrs)`,
				`a.yaml:14:9: domains: "api.stripe.com:443": a DNS name takes no port (did you mean "api.stripe.com" with ports: [tcp/443]?)`,
				`a.yaml:15:9: domains: "api.*.com": "*" is allowed only as the whole first label, as in "*.example.com"`,
				`a.yaml:16:9: domains: "a..b": empty label (two dots in a row, or a leading dot)`,
				`a.yaml:17:9: domains: "-a.com": label "-a" starts or ends with '-'`,
				`a.yaml:18:9: domains: "a b.com": character ' ' is not allowed in a DNS name (letters, digits, '-', '_' and '.')`,
				`a.yaml:19:9: domains: "` + tooLong + `": longer than 253 characters`,
				`a.yaml:20:9: domains: "*": "*" is allowed only as the whole first label, as in "*.example.com"`,
				`a.yaml:21:9: domains: expected a DNS name like api.example.com or *.example.com, got a list`,
				`a.yaml:23:9: domains: "api.stripe.com." is listed twice (first at line 22)`,
			}},
		{"empty", flow("    to: world\n    domains: []\n"),
			[]string{`a.yaml:11:14: domains: empty list; omit domains to mean all of world`}},
		{"not a list", flow("    to: world\n    domains: api.stripe.com\n"),
			[]string{`a.yaml:11:14: domains: expected a list, got the string "api.stripe.com"`}},
		{"misspelt key", flow("    to: world\n    domain: [a.com]\n"),
			[]string{`a.yaml:11:5: unknown key "domain" in flow (did you mean "domains"?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadErrors(t, writeZoneDir(t, tt.files))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseWorldPeer(t *testing.T) {
	pol := mustLoad(t, domainPolicy)
	for in, want := range map[string]string{
		"world:API.Stripe.com.": "world:api.stripe.com",
		"world:203.0.113.7":     "world:203.0.113.7",
		"world:::ffff:1.2.3.4":  "world:1.2.3.4",
	} {
		p, err := pol.ParsePeer(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePeer(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for in, want := range map[string]string{
		"world:1.2.3":                        `"world:1.2.3": not an IP address after "world:"`,
		"world:*.github.com":                 `"world:*.github.com": want an IP address or a DNS name after "world:": "*" is allowed only as the whole first label, as in "*.example.com"`,
		"world:" + strings.Repeat("a.", 130): `longer than 253 characters`,
	} {
		if _, err := pol.ParsePeer(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePeer(%q) error = %v, want %s", in, err, want)
		}
	}
}
