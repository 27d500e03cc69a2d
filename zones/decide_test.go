package zones

import (
	"net/netip"
	"strings"
	"testing"
)

const decidePolicy = `zones:
  web: {members: [{name: web}]}
  api: {members: [{name: api}]}
  db:  {members: [{name: db}]}
  ops: {members: [{name: ops}]}
flows:
  - name: public-web
    from: world
    to: web
    ports: [tcp/80, tcp/443]
  - from: web
    to: api
    ports: [tcp/8000-8100, icmp]
  - from: [api, ops]
    to: db
    ports: [tcp/5432]
  - from: api
    to: world
    cidrs: [203.0.113.0/24, "2001:db8::/32"]
    ports: [tcp/443]
  - name: ops-anything
    from: ops
    to: api
  - from: api
    to: host
    ports: [tcp/9100]
  - name: metadata
    from: ops
    to: world
    cidrs: [169.254.169.254/32]
  - name: wide
    from: db
    to: world
    cidrs: [0.0.0.0/0, 169.254.0.0/16]
  - from: host
    to: db
    ports: [tcp/5432]
  - from: web
    to: world
    ports: [udp]
`

func zone(name string) Peer { return Peer{Kind: KindZone, Zone: name} }

func world(addr string) Peer {
	if addr == "" {
		return Peer{Kind: KindWorld}
	}
	return Peer{Kind: KindWorld, Addr: netip.MustParseAddr(addr)}
}

var host = Peer{Kind: KindHost}

var unzoned = Peer{Kind: KindZone}

type decideCase struct {
	from, to Peer
	proto    Proto
	port     uint16
	allow    bool
	reason   string // exact, with FILE for the zone file
}

func runDecideCases(t *testing.T, pol *Policy, cases []decideCase) {
	t.Helper()
	file := pol.Files[0]
	for _, c := range cases {
		d := pol.Decide(c.from, c.to, c.proto, c.port)
		want := strings.ReplaceAll(c.reason, "FILE", file)
		if d.Allow != c.allow || d.Reason != want {
			t.Errorf("Decide(%s -> %s %s) = %v %q, want %v %q", c.from, c.to, FormatProtoPort(c.proto, c.port), d.Allow, d.Reason, c.allow, want)
		}
		if d.Allow && strings.HasPrefix(d.Reason, "flow ") && d.Flow == nil {
			t.Errorf("Decide(%s -> %s): allowed by a flow but Decision.Flow is nil", c.from, c.to)
		}
	}
}

func TestDecideFlows(t *testing.T) {
	pol := mustLoad(t, decidePolicy)
	runDecideCases(t, pol, []decideCase{
		{world(""), zone("web"), ProtoTCP, 443, true, `flow "public-web" (FILE:7)`},
		{world("198.51.100.9"), zone("web"), ProtoTCP, 80, true, `flow "public-web" (FILE:7)`},
		{world(""), zone("web"), ProtoTCP, 22, false, `no flow from world to web allows tcp/22`},
		{world(""), zone("web"), ProtoUDP, 443, false, `no flow from world to web allows udp/443`},
		{zone("web"), world(""), ProtoTCP, 443, false, `no flow from web to world allows tcp/443`},
		{zone("web"), zone("api"), ProtoTCP, 8000, true, `flow "flow 2" (FILE:11)`},
		{zone("web"), zone("api"), ProtoTCP, 8100, true, `flow "flow 2" (FILE:11)`},
		{zone("web"), zone("api"), ProtoTCP, 8101, false, `no flow from web to api allows tcp/8101`},
		{zone("web"), zone("api"), ProtoICMP, 0, true, `flow "flow 2" (FILE:11)`},
		{zone("web"), zone("api"), ProtoICMPv6, 0, false, `no flow from web to api allows icmpv6`},
		{zone("web"), zone("api"), ProtoTCP, 0, false, `no flow from web to api allows tcp`},
		{zone("api"), zone("web"), ProtoTCP, 8000, false, `no flow from api to web allows tcp/8000`},
		{zone("api"), zone("db"), ProtoTCP, 5432, true, `flow "flow 3" (FILE:14)`},
		{zone("ops"), zone("db"), ProtoTCP, 5432, true, `flow "flow 3" (FILE:14)`},
		{zone("web"), zone("db"), ProtoTCP, 5432, false, `no flow from web to db allows tcp/5432`},
		{zone("db"), zone("db"), ProtoTCP, 5432, false, `no flow from db to db allows tcp/5432`},
		// no ports: all traffic, including the ProtoAny question
		{zone("ops"), zone("api"), ProtoUDP, 9999, true, `flow "ops-anything" (FILE:21)`},
		{zone("ops"), zone("api"), ProtoAny, 0, true, `flow "ops-anything" (FILE:21)`},
		{zone("web"), zone("api"), ProtoAny, 0, false, `no flow from web to api allows all traffic`},
		// "udp" alone covers every udp port and the every-port question
		{zone("web"), world("198.51.100.1"), ProtoUDP, 4000, true, `flow "flow 10" (FILE:38)`},
		{zone("web"), world(""), ProtoUDP, 0, true, `flow "flow 10" (FILE:38)`},
	})
}

func TestDecideWorldCIDRsAndMetadata(t *testing.T) {
	pol := mustLoad(t, decidePolicy)
	meta := `world address 169.254.169.254 is a cloud metadata address; only a flow naming it in cidrs reaches it`
	runDecideCases(t, pol, []decideCase{
		{zone("api"), world("203.0.113.7"), ProtoTCP, 443, true, `flow "flow 4" (FILE:17)`},
		{zone("api"), world("2001:db8::7"), ProtoTCP, 443, true, `flow "flow 4" (FILE:17)`},
		{zone("api"), world("::ffff:203.0.113.7"), ProtoTCP, 443, true, `flow "flow 4" (FILE:17)`},
		{zone("api"), world(""), ProtoTCP, 443, true, `flow "flow 4" (FILE:17)`},
		{zone("api"), world("198.51.100.7"), ProtoTCP, 443, false, `no flow from api to world:198.51.100.7 allows tcp/443`},
		{zone("api"), world("2001:db9::1"), ProtoTCP, 443, false, `no flow from api to world:2001:db9::1 allows tcp/443`},
		{zone("api"), world("169.254.169.254"), ProtoTCP, 80, false, meta},
		{zone("web"), world("169.254.169.254"), ProtoUDP, 80, false, meta},
		{zone("api"), world("fd00:ec2::254"), ProtoTCP, 80, false, `world address fd00:ec2::254 is a cloud metadata address; only a flow naming it in cidrs reaches it`},
		// named explicitly: reachable
		{zone("ops"), world("169.254.169.254"), ProtoTCP, 80, true, `flow "metadata" (FILE:27)`},
		// 0.0.0.0/0 and 169.254.0.0/16 contain it but do not name it
		{zone("db"), world("169.254.169.254"), ProtoTCP, 80, false, meta},
		{zone("db"), world("169.254.1.1"), ProtoTCP, 80, true, `flow "wide" (FILE:31)`},
		{zone("db"), world("198.51.100.1"), ProtoTCP, 80, true, `flow "wide" (FILE:31)`},
	})
}

func TestDecideSettings(t *testing.T) {
	defaults := mustLoad(t, decidePolicy)
	runDecideCases(t, defaults, []decideCase{
		// dns: allow (default) admits 53 to world and host from every container
		{zone("api"), world("198.51.100.53"), ProtoUDP, 53, true, `settings.dns: allow`},
		{zone("api"), world(""), ProtoTCP, 53, true, `settings.dns: allow`},
		{zone("db"), host, ProtoUDP, 53, true, `settings.dns: allow`},
		{unzoned, world(""), ProtoUDP, 53, true, `settings.dns: allow`},
		{zone("db"), zone("api"), ProtoUDP, 53, false, `no flow from db to api allows udp/53`},
		{zone("api"), world(""), ProtoUDP, 54, false, `no flow from api to world allows udp/54`},
		{zone("api"), world("169.254.169.254"), ProtoUDP, 53, false, `world address 169.254.169.254 is a cloud metadata address; only a flow naming it in cidrs reaches it`},
		// unzoned: deny (default)
		{unzoned, zone("web"), ProtoTCP, 80, false, `unzoned container (settings.unzoned: deny)`},
		{zone("web"), unzoned, ProtoTCP, 80, false, `unzoned container (settings.unzoned: deny)`},
		{world(""), unzoned, ProtoTCP, 80, false, `unzoned container (settings.unzoned: deny)`},
		// host
		{zone("api"), host, ProtoTCP, 9100, true, `flow "flow 6" (FILE:24)`},
		{zone("web"), host, ProtoTCP, 9100, false, `no flow from web to host allows tcp/9100`},
		{host, zone("web"), ProtoTCP, 80, true, `settings.host_to_containers: allow`},
		{host, unzoned, ProtoTCP, 80, true, `settings.host_to_containers: allow`},
		{host, zone("db"), ProtoTCP, 5432, true, `flow "flow 9" (FILE:35)`},
		// not container traffic
		{host, world(""), ProtoTCP, 80, true, `neither side is a container; zonewall does not filter this traffic`},
		{world(""), host, ProtoTCP, 22, true, `neither side is a container; zonewall does not filter this traffic`},
	})

	strict := mustLoad(t, decidePolicy+"settings:\n  dns: deny\n  unzoned: deny\n  host_to_containers: deny\n")
	runDecideCases(t, strict, []decideCase{
		{zone("api"), world(""), ProtoUDP, 53, false, `no flow from api to world allows udp/53`},
		{zone("web"), world(""), ProtoUDP, 53, true, `flow "flow 10" (FILE:38)`},
		{unzoned, world(""), ProtoUDP, 53, false, `unzoned container (settings.unzoned: deny)`},
		{host, zone("web"), ProtoTCP, 80, false, `no flow from host to web allows tcp/80 (settings.host_to_containers: deny)`},
		{host, zone("db"), ProtoTCP, 5432, true, `flow "flow 9" (FILE:35)`},
		{host, unzoned, ProtoTCP, 80, false, `unzoned container (settings.unzoned: deny)`},
	})

	open := mustLoad(t, decidePolicy+"settings:\n  unzoned: allow\n  mode: audit\n")
	runDecideCases(t, open, []decideCase{
		{unzoned, zone("db"), ProtoTCP, 5432, true, `settings.unzoned: allow`},
		{zone("db"), unzoned, ProtoTCP, 1, true, `settings.unzoned: allow`},
		{unzoned, world("198.51.100.1"), ProtoAny, 0, true, `settings.unzoned: allow`},
		{unzoned, world("169.254.169.254"), ProtoTCP, 80, false, `world address 169.254.169.254 is a cloud metadata address; only a flow naming it in cidrs reaches it`},
		// audit mode does not change verdicts
		{zone("web"), zone("db"), ProtoTCP, 5432, false, `no flow from web to db allows tcp/5432`},
	})
}

func TestLoadMergesFiles(t *testing.T) {
	dir := writeZoneDir(t, map[string]string{
		"10-zones.yaml":   "version: 1\nzones:\n  web: {members: [{name: web}]}\n  api: {members: [{name: api}]}\n",
		"20-flows.yml":    "flows:\n  - {from: web, to: api, ports: [tcp/80]}\n  - {from: web, to: db, ports: [tcp/5432]}\n",
		"30-more.yaml":    "zones:\n  db: {description: data, members: [{image: \"postgres:*\"}]}\nflows:\n  - {name: egress, from: api, to: world}\n",
		"40-settings.yml": "settings:\n  mode: audit\n",
		"notes.txt":       "not a zone file",
	})
	pol, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files, zones, flows []string
	for _, f := range pol.Files {
		files = append(files, strings.TrimPrefix(f, dir+"/"))
	}
	for _, z := range pol.Zones {
		zones = append(zones, z.Name)
	}
	for i, f := range pol.Flows {
		if f.Index != i {
			t.Errorf("flow %d has Index %d", i, f.Index)
		}
		flows = append(flows, f.Label()+"@"+strings.TrimPrefix(f.Pos.String(), dir+"/"))
	}
	check := func(what string, got []string, want string) {
		if strings.Join(got, " ") != want {
			t.Errorf("%s = %q, want %q", what, strings.Join(got, " "), want)
		}
	}
	check("files", files, "10-zones.yaml 20-flows.yml 30-more.yaml 40-settings.yml")
	check("zones", zones, "web api db")
	check("flows", flows, "flow 1@20-flows.yml:2:5 flow 2@20-flows.yml:3:5 egress@30-more.yaml:4:5")
	want := DefaultSettings()
	want.Mode = "audit"
	want.Pos = Pos{File: dir + "/40-settings.yml", Line: 1, Col: 1}
	if pol.Settings != want {
		t.Errorf("settings = %+v, want %+v", pol.Settings, want)
	}
	if pol.Zones[2].Description != "data" || pol.Zones[2].Members[0].Image != "postgres:*" {
		t.Errorf("zone db = %+v", pol.Zones[2])
	}
	f := pol.Flows[1]
	if f.From.String() != "web" || f.To.String() != "db" || len(f.Ports) != 1 || f.Ports[0].String() != "tcp/5432" {
		t.Errorf("flow 2 = from %s to %s ports %v", f.From, f.To, f.Ports)
	}
}

func TestSuggest(t *testing.T) {
	for _, tt := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"form", []string{"name", "from", "to"}, ` (did you mean "from"?)`},
		{"apii", []string{"web", "api"}, ` (did you mean "api"?)`},
		{"TCP", []string{"tcp", "udp"}, ` (did you mean "tcp"?)`},
		{"db", []string{"web", "api"}, ``},
		{"xyzzy", []string{"zones", "flows"}, ``},
		{"host_network_", []string{"host_network"}, ` (did you mean "host_network"?)`},
	} {
		if got := suggest(tt.word, tt.candidates); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
