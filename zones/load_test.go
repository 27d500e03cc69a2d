package zones

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeZoneDir writes files into a fresh directory and returns it.
func writeZoneDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadErrors loads dir and returns its error lines with the directory
// prefix removed, so expectations read "shop.yaml:3:5: ...".
func loadErrors(t *testing.T, dir string) []string {
	t.Helper()
	pol, err := Load(dir)
	if err == nil {
		t.Fatalf("Load succeeded with %d zones, want errors", len(pol.Zones))
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList: %v", err, err)
	}
	var lines []string
	for _, e := range list {
		lines = append(lines, strings.TrimPrefix(e.Error(), dir+string(filepath.Separator)))
	}
	return lines
}

// A valid base both files of an error case can lean on.
const baseZones = `zones:
  web:
    members:
      - compose: shop/web
  api:
    members:
      - compose: shop/api
`

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"unknown top-level key",
			map[string]string{"a.yaml": "zone:\n  web: {}\n"},
			[]string{`a.yaml:1:1: unknown key "zone" in zone file (did you mean "zones"?)`}},
		{"unknown flow key suggests the closest",
			map[string]string{"a.yaml": baseZones + "flows:\n  - form: web\n    to: api\n"},
			[]string{
				`a.yaml:9:5: unknown key "form" in flow (did you mean "from"?)`,
				`a.yaml:9:5: flow 1: missing "from"`,
			}},
		{"unknown key far from any valid one gets no suggestion",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: web\n    to: api\n    xyzzyq: 1\n"},
			[]string{`a.yaml:11:5: unknown key "xyzzyq" in flow`}},
		{"unknown zone in a flow",
			map[string]string{"shop.yaml": baseZones + "flows:\n  - from: web\n    to: api\n  - from: apii\n    to: web\n"},
			[]string{`shop.yaml:11:11: flow 2: unknown zone "apii" (did you mean "api"?)`}},
		{"unknown zone in a list, both sides reported",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: [web, dbb]\n    to: [apj]\n"},
			[]string{
				`a.yaml:9:17: flow 1: unknown zone "dbb"`,
				`a.yaml:10:10: flow 1: unknown zone "apj" (did you mean "api"?)`,
			}},
		{"reserved zone names",
			map[string]string{"a.yaml": "zones:\n  world:\n    members: [{name: a}]\n  host:\n    members: [{name: b}]\n  any:\n    members: [{name: c}]\n"},
			[]string{
				`a.yaml:2:3: zone name "world" is reserved`,
				`a.yaml:4:3: zone name "host" is reserved`,
				`a.yaml:6:3: zone name "any" is reserved`,
			}},
		{"malformed zone names",
			map[string]string{"a.yaml": "zones:\n  Web:\n    members: [{name: a}]\n  -x:\n    members: [{name: b}]\n  abcdefghijabcdefghijabcdefghijabc:\n    members: [{name: c}]\n"},
			[]string{
				`a.yaml:2:3: zone name "Web" is invalid: use 1-32 of a-z 0-9 _ -, starting with a letter or digit`,
				`a.yaml:4:3: zone name "-x" is invalid: use 1-32 of a-z 0-9 _ -, starting with a letter or digit`,
				`a.yaml:6:3: zone name "abcdefghijabcdefghijabcdefghijabc" is invalid: use 1-32 of a-z 0-9 _ -, starting with a letter or digit`,
			}},
		{"duplicate zone across files names both places",
			map[string]string{
				"base.yaml": "# base\nzones:\n  web:\n    members: [{name: web}]\n",
				"shop.yaml": baseZones,
			},
			[]string{
				`base.yaml:3:3: zone "web" is also defined at DIR/shop.yaml:2:3`,
				`shop.yaml:2:3: zone "web" is also defined at DIR/base.yaml:3:3`,
			}},
		{"duplicate zone within a file",
			map[string]string{"a.yaml": baseZones + "  web:\n    members: [{name: x}]\n"},
			[]string{`a.yaml:8:3: zones: key "web" is given twice (first at line 2)`}},
		{"port errors",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: web\n    to: api\n    ports: [tcp/70000, tcp/0, tcp/8100-8000, tpc/80, icmp/8, \"443\", tcp/x, tcp/]\n"},
			[]string{
				`a.yaml:11:13: ports: "tcp/70000": port out of range 1-65535`,
				`a.yaml:11:24: ports: "tcp/0": port out of range 1-65535`,
				`a.yaml:11:31: ports: "tcp/8100-8000": reversed port range (8100 > 8000)`,
				`a.yaml:11:46: ports: "tpc/80": unknown protocol "tpc" (did you mean "tcp"?)`,
				`a.yaml:11:54: ports: "icmp/8": icmp takes no port`,
				`a.yaml:11:62: ports: "443": missing protocol (write tcp/443 or udp/443)`,
				`a.yaml:11:69: ports: "tcp/x": "x" is not a port number`,
				`a.yaml:11:76: ports: "tcp/": missing port number`,
			}},
		{"ports must be a non-empty list",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: web\n    to: api\n    ports: tcp/80\n  - from: web\n    to: api\n    ports: []\n"},
			[]string{
				`a.yaml:11:12: ports: expected a list, got the string "tcp/80"`,
				`a.yaml:14:12: ports: empty list; omit ports to allow all traffic`,
			}},
		{"bad cidrs",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: web\n    to: world\n    cidrs: [10.0.0.0/33, 10.0.0.1/8, nonsense, \"::ffff:10.0.0.0/104\"]\n"},
			[]string{
				`a.yaml:11:13: cidrs: "10.0.0.0/33": not an address range (write e.g. 203.0.113.0/24 or 2001:db8::/32)`,
				`a.yaml:11:26: cidrs: "10.0.0.1/8": host bits are set (did you mean "10.0.0.0/8"?)`,
				`a.yaml:11:38: cidrs: "nonsense": not an address range (write e.g. 203.0.113.0/24 or 2001:db8::/32)`,
				`a.yaml:11:48: cidrs: "::ffff:10.0.0.0/104": IPv4-mapped IPv6 ranges are not supported; write the IPv4 range`,
			}},
		{"cidrs without a world side",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: web\n    to: api\n    cidrs: [203.0.113.0/24]\n"},
			[]string{`a.yaml:11:5: flow 1: cidrs is only valid when from or to is world`}},
		{"flow without from and to",
			map[string]string{"a.yaml": baseZones + "flows:\n  - name: x\n  - from: web\n"},
			[]string{
				`a.yaml:9:5: flow 1: missing "from"`,
				`a.yaml:9:5: flow 1: missing "to"`,
				`a.yaml:10:5: flow 2: missing "to"`,
			}},
		{"world or host listed with zones",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: [web, world]\n    to: api\n  - from: web\n    to: [host, api]\n"},
			[]string{
				`a.yaml:9:17: flow 1: "world" cannot be listed together with other endpoints`,
				`a.yaml:12:10: flow 2: "host" cannot be listed together with other endpoints`,
			}},
		{"no side is a zone",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: world\n    to: world\n  - from: host\n    to: host\n  - from: world\n    to: host\n"},
			[]string{
				`a.yaml:9:5: flow 1: from world to world: one side must be a zone; zonewall filters only traffic of containers`,
				`a.yaml:11:5: flow 2: from host to host: one side must be a zone; zonewall filters only traffic of containers`,
				`a.yaml:13:5: flow 3: from world to host: one side must be a zone; zonewall filters only traffic of containers`,
			}},
		{"any is not an endpoint, a zone listed twice",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: any\n    to: [api, api]\n"},
			[]string{
				`a.yaml:9:11: flow 1: "any" is reserved, not an endpoint; name the zones, world or host`,
				`a.yaml:10:15: flow 1: zone "api" is listed twice`,
			}},
		{"endpoint of the wrong type",
			map[string]string{"a.yaml": baseZones + "flows:\n  - from: {zone: web}\n    to: []\n"},
			[]string{
				`a.yaml:9:11: from: expected a zone name or a list of them, got a mapping`,
				`a.yaml:10:9: to: empty list; name at least one zone, world or host`,
			}},
		{"duplicate flow names",
			map[string]string{"a.yaml": baseZones + "flows:\n  - {name: x, from: web, to: api}\n  - {name: x, from: api, to: web}\n"},
			[]string{`a.yaml:10:5: flow 2: name "x" is also used by the flow at DIR/a.yaml:9:5`}},
		{"settings twice across files",
			map[string]string{"a.yaml": baseZones + "settings:\n  mode: audit\n", "b.yaml": "settings:\n  dns: deny\n"},
			[]string{
				`a.yaml:8:1: settings may be given only once; also given at DIR/b.yaml:1:1`,
				`b.yaml:1:1: settings may be given only once; also given at DIR/a.yaml:8:1`,
			}},
		{"unknown setting key and values",
			map[string]string{"a.yaml": "settings:\n  mode: enforcing\n  unzoned: alow\n  dsn: allow\n  host_network: 42\n"},
			[]string{
				`a.yaml:2:9: settings.mode: unknown value "enforcing" (did you mean "enforce"?); valid values: enforce, audit`,
				`a.yaml:3:12: settings.unzoned: unknown value "alow" (did you mean "allow"?); valid values: deny, allow`,
				`a.yaml:4:3: unknown key "dsn" in settings (did you mean "dns"?)`,
				`a.yaml:5:17: settings.host_network: unknown value "42"; valid values: report, stop`,
			}},
		{"unsupported version",
			map[string]string{"a.yaml": "version: 2\n", "b.yaml": "version: [1]\n"},
			[]string{
				`a.yaml:1:10: version: unsupported version "2" (the only version is 1)`,
				`b.yaml:1:10: version: expected a string, got a list`,
			}},
		{"members empty, missing, of the wrong type",
			map[string]string{"a.yaml": "zones:\n  a:\n    members: []\n  b:\n    description: nothing\n  c:\n    members: web\n  d:\n"},
			[]string{
				`a.yaml:3:14: zone "a": members: empty list; a zone needs at least one member selector`,
				`a.yaml:4:3: zone "b": missing "members"`,
				`a.yaml:7:14: zone "c": members: expected a list, got the string "web"`,
				`a.yaml:8:3: zone "d": missing "members"`,
			}},
		{"selector errors",
			map[string]string{"a.yaml": "zones:\n  a:\n    members:\n      - {}\n      - lable: x\n      - label: \"=v\"\n      - label: \"a b\"\n      - name: \"web-[\"\n      - image: \"[\\\\\"\n      - compose: shop\n      - compose: shop/a/b\n      - network: \"\"\n"},
			[]string{
				`a.yaml:4:9: zone "a": member 1: a selector needs at least one of name, compose, label, image, network`,
				`a.yaml:5:9: unknown key "lable" in member selector (did you mean "label"?)`,
				`a.yaml:6:16: label: "=v": want "key=value" or "key" (the key must not be empty or contain spaces)`,
				`a.yaml:7:16: label: "a b": want "key=value" or "key" (the key must not be empty or contain spaces)`,
				`a.yaml:8:15: name: "web-[": bad glob pattern (see Go's path.Match syntax)`,
				`a.yaml:9:16: image: "[\\": bad glob pattern (see Go's path.Match syntax)`,
				`a.yaml:10:18: compose: "shop": want "project/service" or "project/*"`,
				`a.yaml:11:18: compose: "shop/a/b": want "project/service" or "project/*"`,
				`a.yaml:12:18: network: must not be empty`,
			}},
		{"wrong types",
			map[string]string{"a.yaml": "zones: [web]\nflows: {from: a}\nsettings: [mode]\n", "b.yaml": "- a\n"},
			[]string{
				`a.yaml:1:8: zones: expected a mapping, got a list`,
				`a.yaml:2:8: flows: expected a list, got a mapping`,
				`a.yaml:3:11: settings: expected a mapping, got a list`,
				`b.yaml:1:1: zone file: expected a mapping, got a list (a zone file has the keys version, zones, flows, settings)`,
			}},
		{"YAML syntax errors with yaml.v3's line",
			map[string]string{"a.yaml": "version: 1\nzones:\n\tweb: {}\n", "b.yaml": "flows: [\n"},
			[]string{
				`a.yaml:3:1: YAML syntax: found character that cannot start any token`,
				`b.yaml:1:1: YAML syntax: did not find expected node content`,
			}},
		{"YAML syntax error at the offending line, not the block start",
			map[string]string{
				"a.yaml": "zones:\n  web:\n    members:\n  - a: b\n",
				"b.yaml": "flows: [\n  {from: a,\n   to: b}]\nzones:\n  web:\n    members:\n      - name: a\n  - a: b\n",
			},
			[]string{
				`a.yaml:4:1: YAML syntax: did not find expected key`,
				`b.yaml:8:1: YAML syntax: did not find expected key`,
			}},
		{"a second YAML document",
			map[string]string{"a.yaml": "version: 1\n---\nversion: 1\n"},
			[]string{`a.yaml:2:1: a zone file holds one YAML document; remove the extra "---"`}},
		{"errors are in file order, then line order",
			map[string]string{"b.yaml": "zones:\n  Q: {members: [{name: a}]}\n", "a.yaml": "bogus: 1\n"},
			[]string{
				`a.yaml:1:1: unknown key "bogus" in zone file`,
				`b.yaml:2:3: zone name "Q" is invalid: use 1-32 of a-z 0-9 _ -, starting with a letter or digit`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeZoneDir(t, tt.files)
			got := loadErrors(t, dir)
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "DIR", dir))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("errors:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
		})
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	empty := t.TempDir()
	noYAML := writeZoneDir(t, map[string]string{"README.md": "x", "zones.json": "{}"})
	missing := filepath.Join(t.TempDir(), "zwtest-z-missing")
	for dir, want := range map[string]string{
		empty:   empty + ": no *.yaml or *.yml files",
		noYAML:  noYAML + ": no *.yaml or *.yml files",
		missing: missing + ": no such directory",
	} {
		_, err := Load(dir)
		if err == nil || err.Error() != want {
			t.Errorf("Load(%s) = %v, want %q", dir, err, want)
		}
	}
}

func TestLoadErrorUsesDirAsGiven(t *testing.T) {
	dir := writeZoneDir(t, map[string]string{"shop.yaml": "bogus: 1\n"})
	t.Chdir(filepath.Dir(dir))
	rel := filepath.Base(dir)
	_, err := Load(rel)
	if want := rel + "/shop.yaml:1:1: unknown key \"bogus\" in zone file"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func writeBenchFile(b *testing.B, dir, content string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(dir, "zones.yaml"), []byte(content), 0o600); err != nil {
		b.Fatal(err)
	}
}
