package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The "conntrack only" baseline of the packet path. In a fresh namespace
// with no ruleset no connection tracking hook is registered at all, but
// every Docker host tracks container traffic (Docker's own iptables NAT and
// filter rules use conntrack), and so does any stateful firewall. This
// baseline is the least such a host pays: one table whose forward chain
// only accepts established and related packets, which is also the first
// rule of zonewall's forward chain.

const conntrackTable = "zwtest-b-ct"

// conntrackOnlyRuleset is the baseline's nft script.
func conntrackOnlyRuleset() string {
	return fmt.Sprintf("table inet %s {\n"+
		"  chain forward {\n"+
		"    type filter hook forward priority filter - 10; policy accept;\n"+
		"    ct state established,related accept\n"+
		"  }\n}\n", conntrackTable)
}

// conntrackVariant is the baseline as a path variant; its nft script is
// written to dir.
func conntrackVariant(topo *topology, dir string) (*pathVariant, error) {
	path := filepath.Join(dir, "path-conntrack.nft")
	if err := os.WriteFile(path, []byte(conntrackOnlyRuleset()), 0o644); err != nil {
		return nil, fmt.Errorf("conntrack baseline: %w", err)
	}
	return &pathVariant{name: conntrackOnlyName, tracks: true,
		install: func() error { _, err := topo.router.nftFile(path); return err },
		remove:  func() error { return topo.router.deleteTable("inet", conntrackTable) }}, nil
}

const conntrackOnlyName = "conntrack only"

// trackedConnections is the router namespace's conntrack entry count:
// connections that just closed leave entries (for a second, with the
// topology's timeouts) if and only if connection tracking is in the path.
func trackedConnections(n *netns) (int, error) {
	out, err := n.output("cat", "/proc/sys/net/netfilter/nf_conntrack_count")
	if err != nil {
		return 0, fmt.Errorf("conntrack count: %w", err)
	}
	c, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("conntrack count %q: %w", out, err)
	}
	return c, nil
}
