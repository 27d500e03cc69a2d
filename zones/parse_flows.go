package zones

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var flowKeys = []string{"name", "from", "to", "ports", "cidrs", "domains"}

// parseFlows reads the flows list. Every item gets a number, even a broken
// one, so "flow N" in errors matches the order in the files.
func (p *fileParser) parseFlows(n *yaml.Node) []*parsedFlow {
	if isNull(deref(n)) {
		return nil
	}
	items, ok := p.sequence(n, "flows", "; omit flows to allow nothing")
	if !ok {
		return nil
	}
	flows := make([]*parsedFlow, len(items))
	for i, item := range items {
		flows[i] = p.parseFlow(item)
	}
	return flows
}

// parseFlow checks one flow's own structure; names are resolved later.
func (p *fileParser) parseFlow(n *yaml.Node) *parsedFlow {
	pf := &parsedFlow{flow: &Flow{Index: *p.flowCount, Pos: p.pos(n)}, ok: true}
	*p.flowCount++
	kvs, ok := p.mapping(n, "flow")
	if !ok {
		pf.ok = false
		return pf
	}
	var haveFrom, haveTo bool
	for _, kv := range p.checkKeys(kvs, flowKeys, "flow") {
		switch kv.key.Value {
		case "name":
			if v, ok := p.scalar(kv.value, "name"); ok {
				if msg := checkFlowName(v); msg != "" {
					p.errorf(kv.value, "name: %q: %s", clip(v, 64), msg)
				}
				pf.flow.Name = v
			}
		case "from":
			haveFrom = true
			pf.from, ok = p.parseEndpointNames(kv.value, "from")
			pf.ok = pf.ok && ok
		case "to":
			haveTo = true
			pf.to, ok = p.parseEndpointNames(kv.value, "to")
			pf.ok = pf.ok && ok
		case "ports":
			pf.flow.Ports = p.parsePorts(kv.value)
		case "cidrs":
			pf.cidrsPos = p.pos(kv.key)
			pf.flow.CIDRs = p.parseCIDRs(kv.value)
		case "domains":
			pf.domainsPos = p.pos(kv.key)
			pf.flow.Domains = p.parseDomains(kv.value)
		}
	}
	for _, missing := range []struct {
		have bool
		key  string
	}{{haveFrom, "from"}, {haveTo, "to"}} {
		if !missing.have {
			p.errorf(n, "flow %d: missing %q", pf.flow.Index+1, missing.key)
			pf.ok = false
		}
	}
	return pf
}

// flowNameRE is what a flow name may hold: names travel into the kernel as
// element comments and onto terminals, so quotes, control and bidi
// characters are refused rather than escaped everywhere.
var flowNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.:/+-]*$`)

func checkFlowName(v string) string {
	if len(v) > 64 {
		return "longer than 64 characters"
	}
	if !flowNameRE.MatchString(v) {
		return "use letters, digits, space and _ . : / + -, starting with a letter or digit"
	}
	return ""
}

// parseEndpointNames accepts one name or a list of names.
func (p *fileParser) parseEndpointNames(n *yaml.Node, key string) ([]nameAt, bool) {
	n = deref(n)
	var items []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	case yaml.SequenceNode:
		var ok bool
		if items, ok = p.sequence(n, key, "; name at least one zone, world or host"); !ok {
			return nil, false
		}
	default:
		p.errorf(n, "%s: expected a zone name or a list of them, got %s", key, describe(n))
		return nil, false
	}
	names := make([]nameAt, 0, len(items))
	ok := true
	for _, item := range items {
		v, good := p.scalar(item, key)
		if !good {
			ok = false
			continue
		}
		names = append(names, nameAt{v, p.pos(item)})
	}
	return names, ok
}

func (p *fileParser) parsePorts(n *yaml.Node) []PortRange {
	items, ok := p.sequence(n, "ports", "; omit ports to allow all traffic")
	if !ok {
		return nil
	}
	var out []PortRange
	for _, item := range items {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			p.errorf(item, "ports: expected an item like tcp/443, got %s", describe(item))
			continue
		}
		r, err := parsePortSpec(item.Value)
		if err != nil {
			p.errorf(item, "ports: %q: %v", item.Value, err)
			continue
		}
		r.Pos = p.pos(item)
		out = append(out, r)
	}
	return out
}

func (p *fileParser) parseCIDRs(n *yaml.Node) []netip.Prefix {
	items, ok := p.sequence(n, "cidrs", "; omit cidrs to mean all of world")
	if !ok {
		return nil
	}
	var out []netip.Prefix
	for _, item := range items {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			p.errorf(item, "cidrs: expected an address range like 203.0.113.0/24, got %s", describe(item))
			continue
		}
		pfx, err := parseCIDR(item.Value)
		if err != nil {
			p.errorf(item, "cidrs: %q: %v", item.Value, err)
			continue
		}
		out = append(out, pfx)
	}
	return out
}

func (p *fileParser) parseDomains(n *yaml.Node) []Domain {
	items, ok := p.sequence(n, "domains", "; omit domains to mean all of world")
	if !ok {
		return nil
	}
	var out []Domain
	seen := map[string]Pos{}
	for _, item := range items {
		if item.Kind != yaml.ScalarNode || isNull(item) {
			p.errorf(item, "domains: expected a DNS name like api.example.com or *.example.com, got %s", describe(item))
			continue
		}
		d, err := ParseDomain(item.Value)
		if err != nil {
			p.errorf(item, "domains: %q: %v", item.Value, err)
			continue
		}
		d.Pos = p.pos(item)
		if first, dup := seen[d.String()]; dup {
			p.errorf(item, "domains: %q is listed twice (first at line %d)", item.Value, first.Line)
			continue
		}
		seen[d.String()] = d.Pos
		out = append(out, d)
	}
	return out
}

// parseCIDR reads a prefix or a single address (as /32 or /128). Host bits
// must be zero: "10.0.0.1/8" is more likely a typo than a wish.
func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("not an address range (write e.g. 203.0.113.0/24 or 2001:db8::/32)")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an address range (write e.g. 203.0.113.0/24 or 2001:db8::/32)")
	}
	if pfx.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("IPv4-mapped IPv6 ranges are not supported; write the IPv4 range")
	}
	if m := pfx.Masked(); m != pfx {
		return netip.Prefix{}, fmt.Errorf("host bits are set (did you mean %q?)", m.String())
	}
	return pfx, nil
}
