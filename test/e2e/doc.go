// Package e2e is zonewall's end-to-end suite: the real zonewall binary
// against a real Docker daemon, proving verdicts with real connections
// between containers, the host and a "world" network namespace.
//
// It needs root, Docker and nftables. Without them every test skips, unless
// ZW_REQUIRE_PRIV=1 (set by test/run-all), which makes them fail instead.
// Everything it creates is named zwtest-e-*; it holds /tmp/zwtest-docker.lock
// for its whole run, because the daemon programs the host's own tables.
package e2e
