// Package learn turns observed connections into zone files an operator
// keeps in git: zones named after compose services (else images), one flow
// per observed (from, to, proto/port), world egress narrowed to the
// addresses seen, and a policy test file that holds every observed
// connection as "allow" and a few never-observed pairs as "deny".
//
// Generate is pure: same observations, same bytes.
package learn

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/zonewall/zonewall/enforcer/observe"
	"github.com/zonewall/zonewall/zones"
)

// ErrNothingObserved means there is nothing to learn from.
var ErrNothingObserved = errors.New("no connections observed")

// EmitDomains switches world egress to `domains` for observations that
// carry the DNS name their address was resolved from (a valid name only);
// addresses seen without a lookup are given as cidrs.
var EmitDomains = true

// domainOf is the observation's DNS name when learn may propose it.
func domainOf(o observe.Observation) string {
	if !EmitDomains || o.To.Kind != observe.KindWorld || o.To.Domain == "" {
		return ""
	}
	name := zones.CanonicalName(o.To.Domain)
	if zones.CheckName(name) != nil || strings.HasPrefix(name, "*") {
		return "" // not a name a zone file accepts: the address stands
	}
	return name
}

// Options tune Generate.
type Options struct {
	// Extend, when set, is the policy in force: only what it does not
	// allow yet is proposed, in a file meant to be added beside it (no
	// settings, existing zones reused and not redefined).
	Extend *zones.Policy
}

// Result is the proposal.
type Result struct {
	ZoneFile []byte // learned.yaml
	TestFile []byte // learned-test.yaml
	Zones    int    // zones defined in ZoneFile
	Flows    int    // flows in ZoneFile
	Allows   int    // allow expectations
	Denies   int    // deny expectations
	Covered  int    // observations the policy (or settings.dns) already allows
	Skipped  int    // observations that cannot become a flow (host -> container, other protocols)
}

// Generate proposes zone files for obs. With no observation at all it
// returns ErrNothingObserved; with --extend and nothing missing, a Result
// with zero Flows.
func Generate(obs []observe.Observation, opts Options) (Result, error) {
	if len(obs) == 0 {
		return Result{}, ErrNothingObserved
	}
	obs = append([]observe.Observation(nil), obs...)
	observe.Sort(obs)
	g := &generator{opts: opts, zoneOf: map[string]*zone{}, flowAt: map[flowKey]*flow{}, existing: map[observe.Endpoint]string{}}
	g.assignZones(obs)
	for _, o := range obs {
		g.add(o)
	}
	return g.render(obs), nil
}

type zone struct {
	name     string
	existing bool // defined by the policy being extended
	group    string
	describe string
	members  []string // YAML flow mappings, e.g. {compose: "shop/api"}
	used     bool
}

type flowKey struct {
	from, to string // zone name, "world" or "host"
	port     string // tcp/80, icmp, ...
}

type flow struct {
	flowKey
	cidrs   map[netip.Addr]bool
	domains map[string]bool
	count   uint64
	last    time.Time
}

type generator struct {
	opts          Options
	composeImages map[string]bool // image repositories compose services use
	existing      map[observe.Endpoint]string
	zoneOf        map[string]*zone // by group
	zones         []*zone
	flows         []*flow
	flowAt        map[flowKey]*flow
	allows        []string
	allowed       map[string]bool
	covered       int
	skipped       int
}

func (g *generator) dns() bool {
	return g.opts.Extend == nil || g.opts.Extend.Settings.DNS == "allow"
}

// group is the identity a learned zone is made of: a compose service, an
// image, or (for a plain container whose image a compose service also
// uses, where an image glob would make both match two zones) its name.
func group(ep observe.Endpoint, composeImages map[string]bool) string {
	switch {
	case ep.Compose != "":
		return "compose:" + ep.Compose
	case ep.Image != "" && !composeImages[imageRepo(ep.Image)]:
		return "image:" + imageRepo(ep.Image)
	}
	return "name:" + ep.Name
}

// existingZone is the zone of the policy being extended that ep belongs
// to: the one it was recorded in if that still exists, else what the
// policy's selectors say now (from its compose labels, image and name).
func (g *generator) existingZone(ep observe.Endpoint) string {
	p := g.opts.Extend
	if p == nil || ep.Kind != observe.KindContainer {
		return ""
	}
	if z, ok := g.existing[ep]; ok {
		return z
	}
	z := g.matchExisting(p, ep)
	g.existing[ep] = z
	return z
}

func (g *generator) matchExisting(p *zones.Policy, ep observe.Endpoint) string {
	for _, z := range p.Zones {
		if ep.Zone != "" && z.Name == ep.Zone {
			return z.Name
		}
	}
	c := zones.Container{Name: ep.Name, Image: ep.Image, Labels: map[string]string{}}
	if project, service, ok := strings.Cut(ep.Compose, "/"); ok {
		c.Labels[zones.LabelComposeProject], c.Labels[zones.LabelComposeService] = project, service
	}
	return p.ZoneOf(c).Zone
}

// assignZones names a zone for every container seen, in a stable order.
func (g *generator) assignZones(obs []observe.Observation) {
	composeImages := map[string]bool{}
	var eps []observe.Endpoint
	for _, o := range obs {
		for _, ep := range []observe.Endpoint{o.From, o.To} {
			if ep.Kind != observe.KindContainer {
				continue
			}
			eps = append(eps, ep)
			if ep.Compose != "" && ep.Image != "" {
				composeImages[imageRepo(ep.Image)] = true
			}
		}
	}
	taken := map[string]bool{"world": true, "host": true, "any": true}
	if g.opts.Extend != nil {
		for _, z := range g.opts.Extend.Zones {
			taken[z.Name] = true
		}
	}
	byGroup := map[string]*zone{}
	var groups []string
	for _, ep := range eps {
		if name := g.existingZone(ep); name != "" {
			continue
		}
		grp := group(ep, composeImages)
		z := byGroup[grp]
		if z == nil {
			z = &zone{group: grp}
			byGroup[grp] = z
			groups = append(groups, grp)
		}
		z.addMember(ep, grp)
	}
	sort.Strings(groups)
	// First choice: the service (or image, or container) name; on a clash,
	// project-service; then a number.
	want := map[string]int{}
	for _, grp := range groups {
		want[shortName(grp)]++
	}
	for _, grp := range groups {
		z := byGroup[grp]
		name := shortName(grp)
		if want[name] > 1 || taken[name] {
			name = longName(grp)
		}
		base := name
		for i := 2; taken[name]; i++ {
			suffix := fmt.Sprintf("-%d", i)
			name = truncate(base, 32-len(suffix)) + suffix
		}
		taken[name] = true
		z.name = name
		g.zones = append(g.zones, z)
		g.zoneOf[grp] = z
	}
	g.composeImages = composeImages
}

func (z *zone) addMember(ep observe.Endpoint, grp string) {
	var m string
	switch {
	case strings.HasPrefix(grp, "compose:"):
		m = "compose: " + quote(ep.Compose)
		z.describe = "compose service " + ep.Compose
	case strings.HasPrefix(grp, "image:"):
		m = "image: " + quote(imageGlob(ep.Image))
		z.describe = "containers of image " + imageRepo(ep.Image)
	default:
		m = "name: " + quote(globEscape(ep.Name))
		z.describe = "container " + ep.Name
	}
	for _, have := range z.members {
		if have == m {
			return
		}
	}
	z.members = append(z.members, m)
	sort.Strings(z.members)
}

// side names one end of an observation in zone-file terms.
func (g *generator) side(ep observe.Endpoint) string {
	switch ep.Kind {
	case observe.KindWorld:
		return "world"
	case observe.KindHost:
		return "host"
	}
	if name := g.existingZone(ep); name != "" {
		return name
	}
	if z := g.zoneOf[group(ep, g.composeImages)]; z != nil {
		return z.name
	}
	return ""
}

func portSpec(proto string, port uint16) (string, bool) {
	switch proto {
	case "tcp", "udp":
		if port == 0 {
			return "", false
		}
		return fmt.Sprintf("%s/%d", proto, port), true
	case "icmp", "icmpv6":
		return proto, true
	}
	return "", false
}

func (g *generator) add(o observe.Observation) {
	from, to := g.side(o.From), g.side(o.To)
	port, ok := portSpec(o.Proto, o.Port)
	if !ok || from == "" || to == "" || from == "host" || (from == "world" && to == "world") {
		// host -> container is settings.host_to_containers; zone files
		// have no ports for other protocols.
		g.skipped++
		return
	}
	test := from + " -> " + to
	domain := domainOf(o)
	if domain != "" {
		test = from + " -> world:" + domain
	} else if o.To.Kind == observe.KindWorld {
		test = from + " -> world:" + o.To.Addr.String()
	}
	test += " " + port + ": allow"
	if g.allowed == nil {
		g.allowed = map[string]bool{}
	}
	isDNS := (o.Proto == "tcp" || o.Proto == "udp") && o.Port == 53 && (to == "world" || to == "host")
	if g.dns() && isDNS && !zones.IsMetadata(o.To.Addr) {
		g.covered++ // settings.dns: allow
		g.addAllow(test)
		return
	}
	if p := g.opts.Extend; p != nil {
		fromPeer, toPeer := peer(from, o.From), peer(to, o.To)
		if domain != "" {
			toPeer = zones.Peer{Kind: zones.KindWorld, Name: domain}
		}
		if p.Decide(fromPeer, toPeer, zones.Proto(o.Proto), o.Port).Allow {
			g.covered++
			return
		}
	}
	g.addAllow(test)
	k := flowKey{from: from, to: to, port: port}
	f := g.flowAt[k]
	if f == nil {
		f = &flow{flowKey: k, cidrs: map[netip.Addr]bool{}, domains: map[string]bool{}}
		g.flowAt[k] = f
		g.flows = append(g.flows, f)
	}
	if o.To.Kind == observe.KindWorld {
		if domain != "" {
			f.domains[domain] = true
		} else {
			f.cidrs[o.To.Addr] = true
		}
	}
	f.count += o.Count
	if o.Last.After(f.last) {
		f.last = o.Last
	}
	for _, z := range g.zones {
		if z.name == from || z.name == to {
			z.used = true
		}
	}
}

func (g *generator) addAllow(line string) {
	if !g.allowed[line] {
		g.allowed[line] = true
		g.allows = append(g.allows, line)
	}
}

func peer(name string, ep observe.Endpoint) zones.Peer {
	switch name {
	case "world":
		return zones.Peer{Kind: zones.KindWorld, Addr: ep.Addr}
	case "host":
		return zones.Peer{Kind: zones.KindHost}
	}
	return zones.Peer{Kind: zones.KindZone, Zone: name}
}

func (g *generator) render(obs []observe.Observation) Result {
	var first, last time.Time
	var total uint64
	for _, o := range obs {
		if first.IsZero() || o.First.Before(first) {
			first = o.First
		}
		if o.Last.After(last) {
			last = o.Last
		}
		total += o.Count
	}
	res := Result{Covered: g.covered, Skipped: g.skipped}
	var b strings.Builder
	fmt.Fprintf(&b, "# Proposed by zonewall learn from %s (%d distinct), seen %s to %s.\n",
		plural(int(total), "connection"), len(obs), first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	if g.opts.Extend != nil {
		fmt.Fprintf(&b, "# Only what the current policy does not allow yet; add this file beside it.\n")
	}
	fmt.Fprintf(&b, "# Review it: once enforced, every connection not declared here is dropped.\n")
	if g.covered > 0 || g.skipped > 0 {
		fmt.Fprintf(&b, "# Not proposed: %s already allowed (by the policy or settings.dns), %s that cannot be flows (host -> container, other protocols).\n",
			plural(g.covered, "observation"), plural(g.skipped, "observation"))
	}
	var defined []*zone
	for _, z := range g.zones {
		if z.used {
			defined = append(defined, z)
		}
	}
	if len(defined) > 0 {
		b.WriteString("\nzones:\n")
		for _, z := range defined {
			fmt.Fprintf(&b, "  %s:\n    description: %s\n    members:\n", z.name, quote(z.describe))
			for _, m := range z.members {
				fmt.Fprintf(&b, "      - %s\n", m)
			}
		}
	}
	res.Zones = len(defined)
	sort.Slice(g.flows, func(i, j int) bool { return lessFlow(g.flows[i].flowKey, g.flows[j].flowKey) })
	if len(g.flows) > 0 {
		b.WriteString("\nflows:\n")
	}
	for _, f := range g.flows {
		head := func() {
			fmt.Fprintf(&b, "  # %s, last seen %s\n", plural(int(f.count), "connection"), f.last.UTC().Format(time.RFC3339))
			fmt.Fprintf(&b, "  - from: %s\n    to: %s\n    ports: [%s]\n", f.from, f.to, f.port)
			res.Flows++
		}
		// A flow takes domains or cidrs, not both: addresses seen without
		// a lookup get a flow of their own.
		if len(f.domains) > 0 {
			head()
			fmt.Fprintf(&b, "    domains: [%s]\n", strings.Join(sortedKeys(f.domains, quote), ", "))
		}
		if len(f.cidrs) > 0 || len(f.domains) == 0 {
			head()
			if len(f.cidrs) > 0 {
				fmt.Fprintf(&b, "    cidrs: [%s]\n", strings.Join(cidrList(f.cidrs), ", "))
			}
		}
	}
	res.ZoneFile = []byte(b.String())

	var t strings.Builder
	t.WriteString("# Policy tests proposed by zonewall learn: every observed connection passes,\n")
	t.WriteString("# and a few connections never observed do not.\n")
	t.WriteString("expect:\n")
	sort.Strings(g.allows)
	for _, a := range g.allows {
		fmt.Fprintf(&t, "  - %s\n", quote(a))
	}
	denies := g.denies()
	for _, d := range denies {
		fmt.Fprintf(&t, "  - %s\n", quote(d))
	}
	res.Allows, res.Denies = len(g.allows), len(denies)
	res.TestFile = []byte(t.String())
	return res
}

// denies picks up to three zone pairs with no flow between them (nor one
// in the policy being extended), and the metadata address, never observed.
func (g *generator) denies() []string {
	var names []string
	for _, z := range g.zones {
		if z.used {
			names = append(names, z.name)
		}
	}
	hasFlow := map[[2]string]bool{}
	for _, f := range g.flows {
		hasFlow[[2]string{f.from, f.to}] = true
	}
	var cands []string
	for _, a := range names {
		for _, b := range names {
			if hasFlow[[2]string{a, b}] {
				continue
			}
			if p := g.opts.Extend; p != nil && p.Decide(zones.Peer{Kind: zones.KindZone, Zone: a}, zones.Peer{Kind: zones.KindZone, Zone: b}, zones.ProtoTCP, 0).Allow {
				continue
			}
			cands = append(cands, fmt.Sprintf("%s -> %s tcp/8081: deny", a, b))
		}
	}
	// Three pairs spread over the list, not three of one zone.
	var out []string
	seen := map[int]bool{}
	for _, i := range []int{0, len(cands) / 2, len(cands) - 1} {
		if i >= 0 && i < len(cands) && !seen[i] {
			seen[i] = true
			out = append(out, cands[i])
		}
	}
	if len(names) > 0 && !g.metadataSeen() {
		out = append(out, names[0]+" -> world:169.254.169.254 tcp/80: deny")
	}
	return out
}

func (g *generator) metadataSeen() bool {
	for _, f := range g.flows {
		for a := range f.cidrs {
			if zones.IsMetadata(a) {
				return true
			}
		}
	}
	return false
}

// lessFlow orders flows by from, to (zones first, then world and host) and port.
func lessFlow(a, b flowKey) bool {
	rank := func(s string) string {
		switch s {
		case "world":
			return "\xffworld"
		case "host":
			return "\xffhost"
		}
		return s
	}
	if a.from != b.from {
		return rank(a.from) < rank(b.from)
	}
	if a.to != b.to {
		return rank(a.to) < rank(b.to)
	}
	pa, na := splitPort(a.port)
	pb, nb := splitPort(b.port)
	if pa != pb {
		return pa < pb
	}
	return na < nb
}

func splitPort(s string) (string, int) {
	proto, num, _ := strings.Cut(s, "/")
	n := 0
	fmt.Sscanf(num, "%d", &n)
	return proto, n
}

func cidrList(set map[netip.Addr]bool) []string {
	addrs := make([]netip.Addr, 0, len(set))
	for a := range set {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = quote(netip.PrefixFrom(a, a.BitLen()).String())
	}
	return out
}

func sortedKeys(set map[string]bool, f func(string) string) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	for i := range out {
		out[i] = f(out[i])
	}
	return out
}

// imageRepo is an image reference without tag or digest.
func imageRepo(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// imageGlob matches every tag of the image's repository.
func imageGlob(ref string) string {
	repo := imageRepo(ref)
	if repo == ref {
		return globEscape(ref)
	}
	return globEscape(repo) + ":*"
}

// globEscape makes s match itself in path.Match.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func shortName(grp string) string {
	kind, v, _ := strings.Cut(grp, ":")
	switch kind {
	case "compose":
		_, svc, _ := strings.Cut(v, "/")
		return sanitize(svc)
	case "image":
		return sanitize(path.Base(v))
	}
	return sanitize(v)
}

func longName(grp string) string {
	kind, v, _ := strings.Cut(grp, ":")
	if kind == "compose" {
		return sanitize(strings.ReplaceAll(v, "/", "-"))
	}
	return sanitize(v)
}

// sanitize makes a valid zone name: [a-z0-9][a-z0-9_-]{0,31}.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), "-_")
	out = truncate(out, 32)
	if out == "" {
		out = "zone"
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return strings.TrimRight(s[:n], "-_")
	}
	return s
}

// quote renders s as a YAML double-quoted scalar: hostile names (quotes,
// newlines, control characters) stay one value.
func quote(s string) string {
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Style: yaml.DoubleQuotedStyle, Value: s})
	if err != nil {
		return `""`
	}
	return strings.TrimSuffix(string(out), "\n")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
