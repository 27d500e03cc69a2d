package zones

import (
	"fmt"
	"net/netip"
	"strings"
)

// Domain is one entry of a flow's `domains`: an exact DNS name, or a
// wildcard "*.example.com" that matches every name strictly below
// example.com (not example.com itself).
type Domain struct {
	Name     string // lower case, no trailing dot; for a wildcard the part after "*."
	Wildcard bool
	Pos      Pos
}

// String renders the domain as zone files write it.
func (d Domain) String() string {
	if d.Wildcard {
		return "*." + d.Name
	}
	return d.Name
}

// Matches reports whether the DNS name qname (any case, trailing dot
// optional) is covered by d.
func (d Domain) Matches(qname string) bool {
	q := CanonicalName(qname)
	if d.Wildcard {
		return len(q) > len(d.Name)+1 && strings.HasSuffix(q, d.Name) && q[len(q)-len(d.Name)-1] == '.'
	}
	return q == d.Name
}

// CanonicalName is the form names are compared in: lower case, without the
// trailing dot of a fully qualified name.
func CanonicalName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// MaxNameLength is the longest DNS name in text form (RFC 1035: 255 octets
// on the wire, 253 characters without the trailing dot).
const MaxNameLength = 253

// ParseDomain reads a `domains` entry: a DNS name or "*." followed by one.
func ParseDomain(s string) (Domain, error) {
	name := s
	wild := false
	if strings.HasPrefix(name, "*.") {
		wild, name = true, name[2:]
	}
	if err := CheckName(name); err != nil {
		return Domain{}, err
	}
	return Domain{Name: CanonicalName(name), Wildcard: wild}, nil
}

// CheckName validates a DNS host name as zonewall accepts it in zone files,
// policy tests and explain: labels of letters, digits, '-' and '_' (no
// leading or trailing '-'), 1-63 characters each, at most 253 in all; one
// trailing dot is allowed. Errors suggest the likely intended spelling.
func CheckName(s string) error {
	switch {
	case s == "" || s == ".":
		return fmt.Errorf("empty name")
	case strings.Contains(s, "://"):
		host := s[strings.Index(s, "://")+3:]
		if i := strings.IndexAny(host, "/:?#"); i >= 0 {
			host = host[:i]
		}
		return fmt.Errorf("a DNS name, not a URL (did you mean %q?)", host)
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return fmt.Errorf("an IP address, not a DNS name; list addresses in cidrs (a flow has either domains or cidrs)")
	}
	if host, port, ok := strings.Cut(s, ":"); ok && host != "" && isDigits(port) {
		return fmt.Errorf("a DNS name takes no port (did you mean %q with ports: [tcp/%s]?)", host, port)
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf(`"*" is allowed only as the whole first label, as in "*.example.com"`)
	}
	name := strings.TrimSuffix(s, ".")
	if len(name) > MaxNameLength {
		return fmt.Errorf("longer than %d characters", MaxNameLength)
	}
	for _, label := range strings.Split(name, ".") {
		if err := checkLabel(label); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return fmt.Errorf("empty label (two dots in a row, or a leading dot)")
	case len(l) > 63:
		return fmt.Errorf("label %q is longer than 63 characters", l[:20]+"...")
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for _, r := range l {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			return fmt.Errorf("character %q is not allowed in a DNS name (letters, digits, '-', '_' and '.')", r)
		}
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// MatchDomain returns the flow's first domain that covers qname, if any.
func (f *Flow) MatchDomain(qname string) (Domain, bool) {
	for _, d := range f.Domains {
		if d.Matches(qname) {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainFlowsFor lists the domain flows from zone whose domains cover qname,
// in declaration order: the flows a lookup of qname by that zone opens.
func (p *Policy) DomainFlowsFor(zone, qname string) []*Flow {
	var out []*Flow
	for _, f := range p.Flows {
		if len(f.Domains) == 0 || !f.From.HasZone(zone) {
			continue
		}
		if _, ok := f.MatchDomain(qname); ok {
			out = append(out, f)
		}
	}
	return out
}

// HasDomainFlows reports whether any flow names domains.
func (p *Policy) HasDomainFlows() bool {
	for _, f := range p.Flows {
		if len(f.Domains) > 0 {
			return true
		}
	}
	return false
}
