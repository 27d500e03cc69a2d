package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/zonewall/zonewall/enforcer"
)

// Two more variants of the packet path, measured in the same rounds as
// the others:
//
//   - Docker's own iptables rules for the path's networks with no zonewall:
//     what a Docker host pays today (Docker 20.10's filter and nat rules
//     per bridge network, loaded with iptables-restore, i.e. iptables-nft).
//   - zonewall's previous bridge fast path (two lookups per frame: port .
//     address in a set, then port . MAC in the zone map), so that the
//     effect of one combined lookup is measured against it in one run:
//     zonewall's own ruleset with that rule (and its set) put in front.

const dockerIptablesName = "Docker's iptables rules"

// dockerIptablesRules is what Docker 20.10 installs for these bridge
// networks (the last one created last, so its rules come first, as
// Docker inserts them), published ports aside.
func dockerIptablesRules(bridges []string, subnets []string) string {
	var nat, filter, iso1, iso2, fwd strings.Builder
	for i := len(bridges) - 1; i >= 0; i-- {
		br := bridges[i]
		fmt.Fprintf(&nat, "-A POSTROUTING -s %s ! -o %s -j MASQUERADE\n-A DOCKER -i %s -j RETURN\n", subnets[i], br, br)
		fmt.Fprintf(&fwd, "-A FORWARD -o %[1]s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"+
			"-A FORWARD -o %[1]s -j DOCKER\n-A FORWARD -i %[1]s ! -o %[1]s -j ACCEPT\n-A FORWARD -i %[1]s -o %[1]s -j ACCEPT\n", br)
		fmt.Fprintf(&iso1, "-A DOCKER-ISOLATION-STAGE-1 -i %[1]s ! -o %[1]s -j DOCKER-ISOLATION-STAGE-2\n", br)
		fmt.Fprintf(&iso2, "-A DOCKER-ISOLATION-STAGE-2 -o %s -j DROP\n", br)
	}
	fmt.Fprint(&filter, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n"+
		":DOCKER-ISOLATION-STAGE-1 - [0:0]\n:DOCKER-ISOLATION-STAGE-2 - [0:0]\n:DOCKER-USER - [0:0]\n"+
		"-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n")
	filter.WriteString(fwd.String())
	filter.WriteString(iso1.String() + "-A DOCKER-ISOLATION-STAGE-1 -j RETURN\n")
	filter.WriteString(iso2.String() + "-A DOCKER-ISOLATION-STAGE-2 -j RETURN\n")
	filter.WriteString("-A DOCKER-USER -j RETURN\nCOMMIT\n")
	return "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n" +
		"-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n" +
		"-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n" +
		nat.String() + "COMMIT\n" + filter.String()
}

// dockerIptablesVariant loads Docker's rules for the inventory's bridge
// networks (the synthetic ones and the path's own, created last) into the
// router namespace. Docker lets everything through inside a network, so
// the denied port is reachable (not filtered); conntrack is in the path.
func dockerIptablesVariant(topo *topology, inv enforcer.Inventory, dir string) (*pathVariant, error) {
	var bridges, subnets []string
	for _, n := range inv.Networks {
		if n.Bridge == "" || len(n.Subnets) == 0 {
			continue
		}
		bridges, subnets = append(bridges, n.Bridge), append(subnets, n.Subnets[0].String())
	}
	path := filepath.Join(dir, "path-docker.iptables")
	if err := os.WriteFile(path, []byte(dockerIptablesRules(bridges, subnets)), 0o644); err != nil {
		return nil, fmt.Errorf("docker iptables baseline: %w", err)
	}
	remove := func() error {
		for _, t := range []string{"filter", "nat"} {
			if err := topo.router.deleteTable("ip", t); err != nil {
				return err
			}
		}
		return nil
	}
	return &pathVariant{name: dockerIptablesName, tracks: true,
		install: func() error {
			if err := topo.router.run("iptables-restore", path); err != nil {
				return fmt.Errorf("iptables-restore (Docker's rules): %w", err)
			}
			return nil
		},
		remove: remove}, nil
}

const previousShapeName = "zonewall, previous fast path (two lookups)"

// previousFastPath is the nft script that puts zonewall's previous IPv4
// fast path in front of the current one, with the set it looked up.
func previousFastPath(table string, inv enforcer.Inventory) string {
	var b strings.Builder
	fmt.Fprintf(&b, "add set bridge %s zwtest_b_prev_addr4 { type ifname . ipv4_addr; }\n", table)
	var els []string
	for _, c := range inv.Containers {
		for _, ep := range c.Endpoints {
			if ep.HostVeth != "" && ep.IPv4.IsValid() {
				els = append(els, fmt.Sprintf("%q . %s", ep.HostVeth, ep.IPv4))
			}
		}
	}
	for i := 0; i < len(els); i += 1000 {
		fmt.Fprintf(&b, "add element bridge %s zwtest_b_prev_addr4 { %s }\n", table, strings.Join(els[i:min(i+1000, len(els))], ", "))
	}
	fmt.Fprintf(&b, "insert rule bridge %s prerouting ether type ip iifname . ip saddr @zwtest_b_prev_addr4 "+
		"meta mark set iifname . ether saddr map @%s accept\n", table, enforcer.SetPortZone)
	return b.String()
}

// previousShapeVariant is zonewall with the previous fast path in front:
// frames take it (two lookups) and never reach the current one.
func previousShapeVariant(topo *topology, cr zwCompiled, inv enforcer.Inventory, dir string) (*pathVariant, error) {
	path := filepath.Join(dir, "path-previous.nft")
	if err := os.WriteFile(path, []byte(previousFastPath(enforcer.DefaultTable, inv)), 0o644); err != nil {
		return nil, fmt.Errorf("previous fast path: %w", err)
	}
	var app zwApplier
	v := &pathVariant{name: previousShapeName, filtered: true, tracks: true}
	v.install = func() error {
		a, err := zwNewApplier(int(topo.routerFd.Fd()))
		if err != nil {
			return err
		}
		app = a
		if _, err = app.Apply(cr); err != nil {
			return err
		}
		if _, err := topo.router.nftFile(path); err != nil {
			return fmt.Errorf("previous fast path: %w", err)
		}
		return nil
	}
	v.remove = func() error {
		if app == nil {
			return nil
		}
		defer func() { app.Close(); app = nil }()
		return app.Cleanup()
	}
	return v, nil
}
