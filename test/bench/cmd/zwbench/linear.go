package main

import (
	"bufio"
	"fmt"
	"os"
)

// The baseline of the apply and packet-path scenarios: the same policy in
// the iptables-style shape that per-container tools (whalewall, dfw) load,
// one rule for every allowed (source container, destination container,
// port), in one chain of its own table, loaded with `nft -f`.
const (
	linearTable = "zwtest-b-linear"
	linearChain = "zwb_forward"
)

// linearRule is the baseline rule allowing src to open connections to dst.
func linearRule(src, dst string, port int) string {
	return fmt.Sprintf("add rule inet %s %s ip saddr %s ip daddr %s tcp dport %d accept\n",
		linearTable, linearChain, src, dst, port)
}

// linearHeader creates the table and its forward chain (deny by default,
// replies of allowed connections pass).
func linearHeader() string {
	return fmt.Sprintf("table inet %[1]s {\n"+
		"  chain %[2]s {\n"+
		"    type filter hook forward priority filter - 10; policy drop;\n"+
		"    ct state established,related accept\n"+
		"  }\n}\n", linearTable, linearChain)
}

// membersByZone lists the IPv4 addresses of containers 0..n-1 by zone.
func membersByZone(n int) [][]string {
	by := make([][]string, synthZones)
	for i := 0; i < n; i++ {
		c := synthContainer(i)
		z := i % synthZones
		by[z] = append(by[z], c.Endpoints[0].IPv4.String())
	}
	return by
}

// linearRuleCount is the number of allow rules of the baseline for n containers.
func linearRuleCount(n int) int {
	by := membersByZone(n)
	total := 0
	for z := range by {
		for _, p := range synthPeers(z) {
			total += len(by[z]) * len(by[p])
		}
	}
	return total
}

// writeLinearRuleset writes the full baseline for containers 0..n-1 and
// returns the number of allow rules.
func writeLinearRuleset(path string, n int) (int, error) {
	by := membersByZone(n)
	return writeNft(path, func(w *bufio.Writer) int {
		w.WriteString(linearHeader())
		rules := 0
		for z := range by {
			for _, p := range synthPeers(z) {
				for _, src := range by[z] {
					for _, dst := range by[p] {
						w.WriteString(linearRule(src, dst, synthPort))
						rules++
					}
				}
			}
		}
		return rules
	})
}

// writeLinearAdd writes the rules the baseline adds when container i starts
// while containers 0..i-1 run: every allowed pair it is part of.
func writeLinearAdd(path string, i int) (int, error) {
	by := membersByZone(i)
	z := i % synthZones
	self := synthContainer(i).Endpoints[0].IPv4.String()
	return writeNft(path, func(w *bufio.Writer) int {
		rules := 0
		for _, p := range synthPeers(z) {
			for _, dst := range by[p] {
				w.WriteString(linearRule(self, dst, synthPort))
				rules++
			}
		}
		for src := range by {
			for _, p := range synthPeers(src) {
				if p != z {
					continue
				}
				for _, s := range by[src] {
					w.WriteString(linearRule(s, self, synthPort))
					rules++
				}
			}
		}
		return rules
	})
}

// writeLinearDelete writes the deletion of rules by handle (the baseline's
// container stop).
func writeLinearDelete(path string, handles []int) (int, error) {
	return writeNft(path, func(w *bufio.Writer) int {
		for _, h := range handles {
			fmt.Fprintf(w, "delete rule inet %s %s handle %d\n", linearTable, linearChain, h)
		}
		return len(handles)
	})
}

func writeNft(path string, body func(*bufio.Writer) int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n := body(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("close %s: %w", path, err)
	}
	return n, nil
}
