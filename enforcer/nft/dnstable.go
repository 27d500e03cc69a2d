package nft

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/dnsproxy"
	"github.com/zonewall/zonewall/zones"
	"golang.org/x/sys/unix"
)

// The DNS table (`table inet <table>_dns`) carries egress by name. It is
// separate from the main tables so that their full rebuilds never wipe the
// addresses DNS answers opened (the kernel's timeouts keep running across
// rebuilds and daemon restarts); it holds:
//
//   - sets names4/names6: zone mark . address . l4proto . port range, with
//     a timeout per element (TTL + grace), written by Allow in one
//     transaction per answer;
//   - chain forward (priority filter - 20, before the main table): a new
//     connection whose key is in a names set gets mark bit
//     enforcer.MarkNameAllowed, which the main table's from_container
//     chain accepts after its container and metadata checks;
//   - chain prerouting (nat, priority dstnat - 10): containers' DNS
//     (udp/53, tcp/53) routed through the host is redirected to the
//     forwarder's port, with the same mark bit, which to_host accepts.
//     Only packets addressed to the host's MAC (pkttype host) are
//     redirected: DNS between two containers on one bridge is not.
const (
	SetNames4            = "names4"  // single ports (tcp/443): a hash set, fast to update
	SetNames6            = "names6"  //
	SetNameRanges4       = "ranges4" // port ranges, whole protocols, all traffic: an interval set
	SetNameRanges6       = "ranges6" //
	PriorityDNSForward   = -20
	PriorityDNSRedirect  = -110
	dnsTableSuffix       = "_dns"
	minElementTimeout    = time.Second
	maxRememberedExpires = 1 << 20
)

// DNSTableName is the DNS table's name for the main table name.
func DNSTableName(table string) string { return table + dnsTableSuffix }

// DNSTable writes DNS answers' addresses into the kernel.
type DNSTable struct {
	mu      sync.Mutex
	conn    *nftables.Conn
	table   *nftables.Table
	port    uint16
	log     *slog.Logger
	zoneIDs map[string]uint8
	// expires is the latest expiry written per element, so that a shorter
	// answer never cuts an element short (the kernel takes the timeout of
	// the last add as the new one).
	expires map[elemKey]time.Time
	now     func() time.Time
	set4    *nftables.Set // exact keys
	set6    *nftables.Set
	range4  *nftables.Set // interval keys
	range6  *nftables.Set
	bridges []string // see DefaultBridgeNames
}

func (d *DNSTable) sets() []*nftables.Set { return []*nftables.Set{d.set4, d.set6, d.range4, d.range6} }

type elemKey struct {
	zone     uint8
	addr     netip.Addr
	proto    [2]uint8
	from, to uint16
}

// NewDNSTable opens a netlink connection for the DNS table of the main
// table `table` (opts: WithNetNS, WithLogger). port is the forwarder's.
func NewDNSTable(table string, port uint16, opts ...Option) (*DNSTable, error) {
	a := &Applier{netns: -1, log: slog.Default()}
	for _, o := range opts {
		o(a)
	}
	conn, err := openConn(a.netns)
	if err != nil {
		return nil, err
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: DNSTableName(table)}
	d := &DNSTable{conn: conn, table: t, port: port, log: a.log, zoneIDs: map[string]uint8{}, expires: map[elemKey]time.Time{}, now: time.Now,
		bridges: DefaultBridgeNames}
	d.set4 = d.namesSet(SetNames4, nftables.TypeIPAddr, false)
	d.set6 = d.namesSet(SetNames6, nftables.TypeIP6Addr, false)
	d.range4 = d.namesSet(SetNameRanges4, nftables.TypeIPAddr, true)
	d.range6 = d.namesSet(SetNameRanges6, nftables.TypeIP6Addr, true)
	return d, nil
}

// namesSet: zone mark . address . l4proto . port, with timeouts. Most
// flows name single ports, which go to a hash set (an update costs about
// as much whatever the set holds); ranges need the kernel's interval set
// for concatenations, whose every transaction copies its lookup table.
func (d *DNSTable) namesSet(name string, addr nftables.SetDatatype, interval bool) *nftables.Set {
	return &nftables.Set{Table: d.table, Name: name, Interval: interval, Concatenation: true, HasTimeout: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeMark, addr, nftables.TypeInetProto, nftables.TypeInetService)}
}

// Close releases the netlink connection (the table stays).
func (d *DNSTable) Close() error { return d.conn.CloseLasting() }

// Ensure creates the table, its sets and chains where missing and rewrites
// the chains' rules, in one transaction; elements already in the sets stay.
func (d *DNSTable) Ensure() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.conn
	c.AddTable(d.table)
	for _, s := range d.sets() {
		if err := c.AddSet(s, nil); err != nil {
			return fmt.Errorf("DNS table set %s: %w", s.Name, err)
		}
	}
	fwd := c.AddChain(&nftables.Chain{Table: d.table, Name: "forward", Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityRef(PriorityDNSForward)})
	nat := c.AddChain(&nftables.Chain{Table: d.table, Name: "prerouting", Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(PriorityDNSRedirect)})
	c.FlushChain(fwd)
	c.FlushChain(nat)
	rules, err := d.rules()
	if err != nil {
		return err
	}
	for _, r := range rules[:4] {
		c.AddRule(&nftables.Rule{Table: d.table, Chain: fwd, Exprs: r})
	}
	for _, r := range rules[4:] {
		c.AddRule(&nftables.Rule{Table: d.table, Chain: nat, Exprs: r})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("creating table inet %s: %w", d.table.Name, err)
	}
	return nil
}

func (d *DNSTable) rules() ([][]expr.Any, error) {
	match := func(ms ...enforcer.Match) []expr.Any {
		var out []expr.Any
		for _, m := range ms {
			e, err := matchExprs(m, nil)
			if err != nil {
				panic(err) // only fixed matches below
			}
			out = append(out, e...)
		}
		return out
	}
	lookup := func(set *nftables.Set, addr enforcer.KeyPart) []expr.Any {
		load, src := loadKey([]enforcer.KeyPart{enforcer.KeyMarkZone, addr, enforcer.KeyL4Proto, enforcer.KeyTHDport})
		return append(load, &expr.Lookup{SourceRegister: src, SetName: set.Name, SetID: set.ID})
	}
	newConn := enforcer.MatchCtState{States: []string{"new"}}
	fromContainer := enforcer.MatchMarkZone{Value: 0, Negate: true}
	var out [][]expr.Any
	for _, f := range []struct {
		v6   bool
		set  *nftables.Set
		addr enforcer.KeyPart
	}{{false, d.set4, enforcer.KeyIPDaddr}, {true, d.set6, enforcer.KeyIP6Daddr},
		{false, d.range4, enforcer.KeyIPDaddr}, {true, d.range6, enforcer.KeyIP6Daddr}} {
		r := match(fromContainer, newConn, enforcer.MatchNfproto{IPv6: f.v6})
		r = append(r, lookup(f.set, f.addr)...)
		out = append(out, append(r, orMark(enforcer.MarkNameAllowed)...))
	}
	// DNS to the host itself (a resolver on a bridge address), and DNS
	// routed out of the host's Docker bridges (to world); not DNS to a
	// container (on a bridge), which its flows decide.
	local := []expr.Any{
		&expr.Fib{Register: reg1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)},
	}
	outward := []expr.Any{&expr.Fib{Register: reg1, FlagDADDR: true, ResultOIFNAME: true}}
	for _, prefix := range d.bridges {
		data := []byte(prefix)
		if !strings.HasSuffix(prefix, "*") {
			data = append(data, 0) // the whole name
		} else {
			data = data[:len(data)-1]
		}
		outward = append(outward, &expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: data})
	}
	for _, proto := range []uint8{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		for _, dest := range [][]expr.Any{local, outward} {
			r := match(fromContainer, enforcer.MatchL4Proto{Proto: proto})
			r = append(r, loadPart(enforcer.KeyTHDport, reg1)...)
			r = append(r, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.BigEndian.PutUint16(53)})
			r = append(r, dest...)
			r = append(r, orMark(enforcer.MarkNameAllowed)...)
			r = append(r,
				&expr.Immediate{Register: reg1, Data: binaryutil.BigEndian.PutUint16(d.port)},
				&expr.Redir{RegisterProtoMin: reg1})
			out = append(out, r)
		}
	}
	return out, nil
}

// DefaultBridgeNames are Docker's bridge names ("*": a prefix): DNS whose
// route leaves through one of them goes to a container and is not redirected.
var DefaultBridgeNames = []string{"br-*", "docker0"}

// WithBridgeNames replaces DefaultBridgeNames (tests name their bridges
// differently).
func (d *DNSTable) WithBridgeNames(names ...string) *DNSTable {
	d.bridges = names
	return d
}

// orMark: meta mark set meta mark | bit.
func orMark(bit uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binary.NativeEndian.AppendUint32(nil, ^bit), Xor: binary.NativeEndian.AppendUint32(nil, bit)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1},
	}
}

// SetZones gives the zone ids of the ruleset being enforced. When a zone's
// id changes (a policy reload renumbered zones), both sets are flushed: an
// element keyed by an old id would open the address for another zone. The
// names are then opened again by the next lookups.
func (d *DNSTable) SetZones(ids map[string]uint8) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed := len(ids) != len(d.zoneIDs)
	for z, id := range ids {
		if old, ok := d.zoneIDs[z]; !ok || old != id {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	had := len(d.zoneIDs) > 0
	d.zoneIDs = make(map[string]uint8, len(ids))
	for z, id := range ids {
		d.zoneIDs[z] = id
	}
	if !had {
		// First call (daemon start): the kernel may hold elements from
		// before a restart, numbered as the policy was then. Keep those
		// whose comment names the zone that id has now; drop the rest.
		if err := d.dropRenumbered(); err == nil {
			return nil
		}
	}
	for _, s := range d.sets() {
		d.conn.FlushSet(s)
	}
	clear(d.expires)
	if err := d.conn.Flush(); err != nil {
		return fmt.Errorf("flushing DNS sets after zone renumbering: %w", err)
	}
	return nil
}

func (d *DNSTable) dropRenumbered() error {
	live, err := d.live()
	if err != nil {
		return err
	}
	byID := map[uint8]string{}
	for z, id := range d.zoneIDs {
		byID[id] = z
	}
	del := map[*nftables.Set][]nftables.SetElement{}
	n := 0
	for _, e := range live {
		if byID[e.ZoneID] == e.Zone && e.Zone != "" {
			continue
		}
		del[e.set] = append(del[e.set], nftables.SetElement{Key: e.raw.Key, KeyEnd: e.raw.KeyEnd})
		n++
	}
	if n == 0 {
		return nil
	}
	for s, els := range del {
		if err := d.conn.SetDeleteElements(s, els); err != nil {
			return err
		}
	}
	return d.conn.Flush() // an element expiring meanwhile fails this: the caller flushes all
}

// ErrUnknownZone: a grant names a zone the enforced ruleset does not know.
var ErrUnknownZone = errors.New("zone not in the enforced ruleset")

// Allow adds the grants' elements with their timeouts in one transaction
// (dnsproxy.Writer). An element already written with a later expiry keeps it.
func (d *DNSTable) Allow(_ context.Context, grants []dnsproxy.Grant) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	els := map[*nftables.Set][]nftables.SetElement{}
	pending := map[elemKey]time.Time{}
	comments := map[elemKey]string{}
	for _, g := range grants {
		id, ok := d.zoneIDs[g.Zone]
		if !ok || g.Zone == "" {
			return fmt.Errorf("%w: %q", ErrUnknownZone, g.Zone)
		}
		a := g.Addr.Unmap()
		for _, pr := range portRanges(g.Ports) {
			k := elemKey{zone: id, addr: a, proto: pr.proto, from: pr.from, to: pr.to}
			exp := g.Expires
			if prev := d.expires[k]; prev.After(exp) {
				exp = prev
			}
			if p := pending[k]; p.After(exp) {
				exp = p
			}
			pending[k] = exp
			comments[k] = elemComment(g.Zone, g.Name)
		}
	}
	for k, exp := range pending {
		timeout := max(exp.Sub(now), minElementTimeout).Round(time.Millisecond)
		s := d.setFor(k)
		e := nftables.SetElement{Key: elemBytes(k, false), Timeout: timeout, Comment: comments[k]}
		if s.Interval {
			e.KeyEnd = elemBytes(k, true)
		}
		els[s] = append(els[s], e)
	}
	for _, s := range d.sets() {
		if len(els[s]) == 0 {
			continue
		}
		if err := d.conn.SetAddElements(s, els[s]); err != nil {
			return fmt.Errorf("DNS set %s: %w", s.Name, err)
		}
	}
	if err := d.conn.Flush(); err != nil {
		return fmt.Errorf("adding DNS answer to inet %s: %w", d.table.Name, err)
	}
	if len(d.expires)+len(pending) > maxRememberedExpires {
		for k, exp := range d.expires {
			if !exp.After(now) {
				delete(d.expires, k)
			}
		}
	}
	for k, exp := range pending {
		d.expires[k] = exp
	}
	return nil
}

// elemComment names the zone and the name asked, so that after a restart
// the elements can be checked against the zone numbering and the names
// shown again. The kernel keeps at most 256 bytes of user data.
func elemComment(zone, name string) string {
	c := zone + " " + name
	if len(c) > 250 {
		c = c[:250]
	}
	return c
}

// setFor: single ports go to the hash sets, the rest to the interval sets.
func (d *DNSTable) setFor(k elemKey) *nftables.Set {
	exact := k.proto[0] == k.proto[1] && k.from == k.to
	switch {
	case exact && k.addr.Is4():
		return d.set4
	case exact:
		return d.set6
	case k.addr.Is4():
		return d.range4
	}
	return d.range6
}

type portRange struct {
	proto    [2]uint8
	from, to uint16
}

// portRanges turns a flow's ports into key ranges (as the compiler does for
// the static allow sets: ICMP's "port" is left unrestricted).
func portRanges(ports []zones.PortRange) []portRange {
	if len(ports) == 0 {
		return []portRange{{[2]uint8{0, 255}, 0, 65535}}
	}
	var out []portRange
	for _, p := range ports {
		switch p.Proto {
		case zones.ProtoTCP:
			out = append(out, portRange{[2]uint8{unix.IPPROTO_TCP, unix.IPPROTO_TCP}, p.From, p.To})
		case zones.ProtoUDP:
			out = append(out, portRange{[2]uint8{unix.IPPROTO_UDP, unix.IPPROTO_UDP}, p.From, p.To})
		case zones.ProtoICMP:
			out = append(out, portRange{[2]uint8{unix.IPPROTO_ICMP, unix.IPPROTO_ICMP}, 0, 65535})
		case zones.ProtoICMPv6:
			out = append(out, portRange{[2]uint8{unix.IPPROTO_ICMPV6, unix.IPPROTO_ICMPV6}, 0, 65535})
		default:
			out = append(out, portRange{[2]uint8{0, 255}, 0, 65535})
		}
	}
	return out
}

// elemBytes encodes the first (hi=false) or last key of an element:
// mark (host order) . address . proto (padded) . port (network order, padded).
func elemBytes(k elemKey, hi bool) []byte {
	b := binary.NativeEndian.AppendUint32(nil, enforcer.ZoneMark(k.zone))
	b = append(b, k.addr.AsSlice()...)
	proto, port := k.proto[0], k.from
	if hi {
		proto, port = k.proto[1], k.to
	}
	b = append(b, proto, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, port)
	return append(b, 0, 0)
}

// LiveElement is one element of the names sets as the kernel holds it.
type LiveElement struct {
	ZoneID  uint8
	Zone    string // from the element's comment
	Name    string // the name asked, from the comment
	Addr    netip.Addr
	Expires time.Duration // time left
	raw     nftables.SetElement
	set     *nftables.Set
}

// Live lists the names sets' elements (what survived a restart).
func (d *DNSTable) Live() ([]LiveElement, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live()
}

func (d *DNSTable) live() ([]LiveElement, error) {
	var out []LiveElement
	for _, s := range d.sets() {
		els, err := d.conn.GetSetElements(s)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return nil, fmt.Errorf("listing %s: %w", s.Name, err)
		}
		for _, e := range els {
			if len(e.Key) < 8 {
				continue
			}
			alen := 4
			if s == d.set6 || s == d.range6 {
				alen = 16
			}
			if len(e.Key) < 4+alen {
				continue
			}
			a, _ := netip.AddrFromSlice(e.Key[4 : 4+alen])
			zone, name, _ := strings.Cut(e.Comment, " ")
			out = append(out, LiveElement{ZoneID: enforcer.ZoneIDOfMark(binary.NativeEndian.Uint32(e.Key[:4])), Zone: zone, Name: name,
				Addr: a, Expires: e.Expires, raw: e, set: s})
		}
	}
	return out, nil
}

// Delete removes the DNS table (uninstall, tests).
func (d *DNSTable) Delete() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.conn.ListTableOfFamily(d.table.Name, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	d.conn.DelTable(d.table)
	clear(d.expires)
	d.zoneIDs = map[string]uint8{}
	return d.conn.Flush()
}
