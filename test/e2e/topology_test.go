package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The shared three-tier topology: web on front, api on front and back, two
// db on back, and an unzoned stray on both. They restart with dockerd.
const (
	web1  = prefix + "-web1"
	api1  = prefix + "-api1"
	db1   = prefix + "-db1"
	db2   = prefix + "-db2"
	stray = prefix + "-stray"

	webPublished = "18080" // web1:80, reachable from world
	apiPublished = "18081" // api1:8080, no flow from world
)

var topologyUp bool

// ensureTopology starts the shared containers once. The first time, before
// any daemon runs, it also proves that the connections the policy denies
// are open without zonewall, so every deny check below tests zonewall.
func ensureTopology(t *testing.T) {
	t.Helper()
	if topologyUp {
		return
	}
	for _, c := range [][]string{
		{web1, netFront, "zwtest.tier=web", "-p", webPublished + ":80"},
		{api1, netFront, "zwtest.tier=api", "-p", apiPublished + ":8080"},
		{db1, netBack, "zwtest.tier=db"},
		{db2, netBack, "zwtest.tier=db"},
		{stray, netFront, "zwtest.role=stray"},
	} {
		args := append([]string{"--network", c[1], "--label", c[2]}, c[3:]...)
		if err := sharedServer(c[0], args...); err != nil {
			t.Fatal(err)
		}
	}
	must(t, "docker", "network", "connect", netBack, api1)
	must(t, "docker", "network", "connect", netBack, stray)
	topologyUp = true

	if daemon.cmd == nil {
		deleteTables()
		if err := worldReachable(); err != nil {
			t.Fatal(err)
		}
		expect(t, stray, 5*time.Second,
			allow("baseline stray -> api", v4(t, api1, netFront), "8080"),
			allow("baseline stray -> api v6", v6(t, api1, netFront), "8080"),
			allow("baseline stray -> db", v4(t, db1, netBack), "5432"),
			allow("baseline stray -> web", v4(t, web1, netFront), "80"),
			allow("baseline stray -> world", worldIP, "8443"))
		expect(t, web1, 5*time.Second, allow("baseline web -> api 9999", v6(t, api1, netFront), "9999"))
		if !fromWorld(worldHostIP, apiPublished) {
			t.Fatal("baseline: api's published port is not reachable from world without zonewall")
		}
	}
}

// tiersPolicy is the policy of the suite; flows are named so explain and
// the line lookup below can find them.
const tiersPolicy = `version: 1
zones:
  web:
    description: public frontends
    members:
      - label: "zwtest.tier=web"
  api:
    members:
      - label: "zwtest.tier=api"
  db:
    members:
      - label: "zwtest.tier=db"
  shopfront:
    members:
      - compose: zwtest-e-shop/front
  shopback:
    members:
      - compose: zwtest-e-shop/back
flows:
  - name: public-web
    from: world
    to: web
    ports: [tcp/80]
  - name: web-to-api
    from: web
    to: api
    ports: [tcp/8080]
  - name: api-to-db
    from: api
    to: db
    ports: [tcp/5432]
  - name: db-peers
    from: db
    to: db
    ports: [tcp/5432]
  - name: api-egress
    from: api
    to: world
    cidrs: [198.51.100.0/28]
    ports: [tcp/443]
  - name: shop
    from: shopfront
    to: shopback
    ports: [tcp/8080]
  - name: api-to-host
    from: api
    to: host
    ports: [tcp/19100]
%s
settings:
  mode: enforce
  unzoned: deny
  default_bridge: deny
  host_network: report
`

// policyWith returns the suite's policy with extra flows appended.
func policyWith(extraFlows string) string { return fmt.Sprintf(tiersPolicy, extraFlows) }

// flowLine is the 1-based line of "- name: NAME" in the suite's policy.
func flowLine(t *testing.T, name string) int {
	t.Helper()
	for i, l := range strings.Split(policyWith(""), "\n") {
		if strings.TrimSpace(l) == "- name: "+name {
			return i + 1
		}
	}
	t.Fatalf("no flow %q in the policy", name)
	return 0
}

// ensurePolicyDaemon installs the suite's policy and makes sure a daemon
// enforces it.
func ensurePolicyDaemon(t *testing.T) {
	t.Helper()
	ensureTopology(t)
	if daemon.cmd == nil {
		writeZones(t, map[string]string{zonesFile: policyWith("")})
		startDaemon(t)
	}
}
