package e2e

import (
	"testing"
	"time"
)

// tiers names the containers one matrix run checks.
type tiers struct{ web, api, db, dbPeer, stray string }

// checkMatrix proves the policy's allow/deny matrix between real
// containers, over IPv4 and IPv6. Allowed connections completing also
// proves replies pass.
func checkMatrix(t *testing.T, c tiers) {
	t.Helper()
	apiF4, apiF6 := addrs(t, c.api, netFront)
	apiB4, apiB6 := addrs(t, c.api, netBack)
	db4, db6 := addrs(t, c.db, netBack)
	peer4, peer6 := addrs(t, c.dbPeer, netBack)
	web4, web6 := addrs(t, c.web, netFront)
	strayF4, strayF6 := addrs(t, c.stray, netFront)
	wait := 10 * time.Second

	expect(t, c.web, wait,
		allow("web -> api tcp/8080", apiF4, "8080"),
		allow("web -> api tcp/8080 v6", apiF6, "8080"),
		deny("web -> api tcp/9999", apiF4, "9999"),
		deny("web -> api tcp/9999 v6", apiF6, "9999"),
		deny("web -> api tcp/5432", apiF4, "5432"),
		deny("web -> unzoned", strayF4, "8080"),
		deny("web -> unzoned v6", strayF6, "8080"),
		deny("web -> world", worldIP, "443"))
	expect(t, c.api, wait,
		allow("api -> db tcp/5432", db4, "5432"),
		allow("api -> db tcp/5432 v6", db6, "5432"),
		deny("api -> db tcp/8080", db4, "8080"),
		deny("api -> db tcp/8080 v6", db6, "8080"),
		deny("api -> web (no reverse flow)", web4, "80"),
		deny("api -> web (no reverse flow) v6", web6, "8080"),
		allow("api -> world tcp/443 (egress cidrs)", worldIP, "443"),
		deny("api -> world tcp/8443", worldIP, "8443"))
	expect(t, c.db, wait,
		allow("db -> db tcp/5432", peer4, "5432"),
		allow("db -> db tcp/5432 v6", peer6, "5432"),
		deny("db -> db tcp/8080", peer4, "8080"),
		deny("db -> api (no reverse flow)", apiB4, "8080"),
		deny("db -> api (no reverse flow) v6", apiB6, "5432"),
		deny("db -> world", worldIP, "443"))
	expect(t, c.stray, wait,
		deny("unzoned -> api", apiF4, "8080"),
		deny("unzoned -> api v6", apiF6, "8080"),
		deny("unzoned -> api back", apiB4, "8080"),
		deny("unzoned -> db", db4, "5432"),
		deny("unzoned -> db v6", db6, "5432"),
		deny("unzoned -> web", web4, "80"),
		deny("unzoned -> world", worldIP, "443"))
}

// Containers that existed before the daemon started.
func TestMatrixExistingContainers(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	checkMatrix(t, tiers{web: web1, api: api1, db: db1, dbPeer: db2, stray: stray})
}

// Containers started while the daemon runs get the same matrix.
func TestMatrixNewContainers(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	web, api, db, str := prefix+"-web-new", prefix+"-api-new", prefix+"-db-new", prefix+"-stray-new"
	server(t, web, "--network", netFront, "--label", "zwtest.tier=web")
	server(t, api, "--network", netFront, "--label", "zwtest.tier=api")
	must(t, "docker", "network", "connect", netBack, api)
	server(t, db, "--network", netBack, "--label", "zwtest.tier=db")
	server(t, str, "--network", netFront)
	must(t, "docker", "network", "connect", netBack, str)
	checkMatrix(t, tiers{web: web, api: api, db: db, dbPeer: db1, stray: str})
}

// Ingress through a published port from the world namespace.
func TestIngressPublishedPorts(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	deadline := time.Now().Add(10 * time.Second)
	for !fromWorld(worldHostIP, webPublished) {
		if time.Now().After(deadline) {
			t.Fatalf("world cannot reach web's published port %s (flow public-web allows tcp/80)", webPublished)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for range 3 {
		if fromWorld(worldHostIP, apiPublished) {
			t.Fatalf("LEAK: world reached api's published port %s; no flow from world to api", apiPublished)
		}
	}
}
