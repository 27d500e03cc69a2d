// Package nft applies an enforcer.Ruleset to the kernel with google/nftables:
// a full, atomic rebuild when needed, element diffs otherwise.
package nft

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/zonewall/zonewall/enforcer"
	"golang.org/x/sys/unix"
)

// Applier owns zonewall's tables in one network namespace.
type Applier struct {
	mu      sync.Mutex
	conn    *nftables.Conn
	genConn *netlink.Conn
	netns   int // -1: the caller's namespace
	table   string
	log     *slog.Logger
	applied *enforcer.Ruleset // what the kernel holds after our last apply
	static  string            // applied ruleset without elements
	gen     uint32            // ruleset generation right after our last apply
	full    bool              // next Apply must rebuild
}

// Option configures an Applier.
type Option func(*Applier)

// WithNetNS programs the network namespace behind fd instead of the
// caller's (tests use a throwaway namespace).
func WithNetNS(fd int) Option { return func(a *Applier) { a.netns = fd } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *Applier) { a.log = l } }

// WithTable sets the table name Cleanup and Verify look for before the
// first Apply (default enforcer.DefaultTable).
func WithTable(name string) Option { return func(a *Applier) { a.table = name } }

// ApplyStats describes one Apply.
type ApplyStats struct {
	Full     bool          // a full rebuild (else an element diff)
	Duration time.Duration // time spent, including the kernel's commit
	Rules    int           // rules in the ruleset
	Elements int           // set elements in the ruleset
	Added    int           // elements added (all of them for a full rebuild)
	Removed  int           // elements removed
}

// openConn opens a lasting netlink connection, in the namespace netns
// when it is >= 0, with a send buffer big enough for full rebuilds.
func openConn(netns int) (*nftables.Conn, error) {
	copts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(bigSendBuffer)}
	if netns >= 0 {
		copts = append(copts, nftables.WithNetNSFd(netns))
	}
	conn, err := nftables.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("nftables connection: %w", err)
	}
	return conn, nil
}

// sndBuf lets one batch carry 100,000+ elements.
const sndBuf = 64 << 20

// New opens a netlink connection (kept open for the Applier's life).
func New(opts ...Option) (*Applier, error) {
	a := &Applier{netns: -1, table: enforcer.DefaultTable, log: slog.Default(), full: true}
	for _, o := range opts {
		o(a)
	}
	conn, err := openConn(a.netns)
	if err != nil {
		return nil, err
	}
	a.conn = conn
	if a.genConn, err = genConn(a.netns); err != nil {
		_ = conn.CloseLasting()
		return nil, err
	}
	return a, nil
}

func bigSendBuffer(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndBuf)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, sndBuf)
		}
	}); err != nil {
		return err
	}
	return serr
}

// Close releases the netlink connection.
func (a *Applier) Close() error {
	return errors.Join(a.conn.CloseLasting(), a.genConn.Close())
}

// Apply makes the kernel hold rs. The first Apply, one after drift or a
// failure, and one whose static part (chains, rules, set definitions)
// differs, rebuild our tables in one transaction; otherwise only set
// elements are added and removed, also in one transaction. A failed diff
// falls back to a full rebuild at once.
func (a *Applier) Apply(rs *enforcer.Ruleset) (ApplyStats, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	static := rs.StaticKey
	if static == "" {
		static = staticString(rs)
	}
	st := ApplyStats{Rules: rs.RuleCount(), Elements: rs.ElementCount()}
	if !a.full && a.applied != nil && static == a.static {
		added, removed, err := a.applyDiff(rs)
		if err == nil {
			st.Added, st.Removed, st.Duration = added, removed, time.Since(start)
			a.done(rs, static)
			return st, nil
		}
		a.log.Warn("element diff failed; rebuilding", "err", err)
	}
	if err := a.applyFull(rs); err != nil {
		a.full = true
		return st, err
	}
	st.Full, st.Added, st.Duration = true, st.Elements, time.Since(start)
	a.done(rs, static)
	return st, nil
}

func (a *Applier) done(rs *enforcer.Ruleset, static string) {
	a.applied, a.static, a.full = snapshot(rs), static, false
	gen, err := getGen(a.genConn)
	if err != nil {
		a.log.Debug("reading ruleset generation", "err", err)
		gen = 0
	}
	a.gen = gen
}

func (a *Applier) applyFull(rs *enforcer.Ruleset) error {
	if _, err := queueFull(a.conn, rs); err != nil {
		return fmt.Errorf("building ruleset: %w", err)
	}
	if err := a.conn.Flush(); err != nil {
		a.log.Debug("kernel rejected ruleset", "ruleset", numbered(rs.String()))
		return fmt.Errorf("applying ruleset (full rebuild): %w", err)
	}
	return nil
}

// applyDiff queues deletions then additions for every set whose elements
// changed and commits them together.
func (a *Applier) applyDiff(rs *enforcer.Ruleset) (added, removed int, err error) {
	for _, t := range rs.Tables {
		old := a.applied.Table(t.Family)
		tab := nftTable(t)
		for _, s := range t.Sets {
			add, del := setDelta(old.Set(s.Name), s)
			if len(add) == 0 && len(del) == 0 {
				continue
			}
			ns := nftSet(tab, s)
			if err := queueElements(a.conn, ns, s, del, false); err != nil {
				return 0, 0, err
			}
			if err := queueElements(a.conn, ns, s, add, true); err != nil {
				return 0, 0, err
			}
			added, removed = added+len(add), removed+len(del)
		}
	}
	if err := a.conn.Flush(); err != nil {
		return 0, 0, fmt.Errorf("applying element diff: %w", err)
	}
	return added, removed, nil
}

// snapshot copies the structure (not the elements) of what the next diff
// compares against, so a caller that reuses its Ruleset and replaces set
// contents cannot change our idea of the kernel's state. Elements are
// shared: a Ruleset's elements must not be modified in place after Apply.
func snapshot(rs *enforcer.Ruleset) *enforcer.Ruleset {
	cp := *rs
	cp.Tables = nil
	for _, t := range rs.Tables {
		ct := *t
		ct.Sets = nil
		for _, s := range t.Sets {
			cs := *s
			ct.Sets = append(ct.Sets, &cs)
		}
		cp.Tables = append(cp.Tables, &ct)
	}
	return &cp
}

// staticString renders rs without set elements.
func staticString(rs *enforcer.Ruleset) string {
	cp := &enforcer.Ruleset{}
	for _, t := range rs.Tables {
		ct := *t
		ct.Sets = nil
		for _, s := range t.Sets {
			cs := *s
			cs.Elements = nil
			ct.Sets = append(ct.Sets, &cs)
		}
		cp.Tables = append(cp.Tables, &ct)
	}
	return cp.String()
}

// Cleanup deletes exactly our tables (both families), if present.
func (a *Applier) Cleanup() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.full, a.applied = true, nil
	var errs error
	// The DNS table (egress by name) goes too: without the daemon nothing
	// would keep its elements in step with the policy.
	for _, t := range []nftables.Table{
		{Family: nftables.TableFamilyINet, Name: a.table},
		{Family: nftables.TableFamilyBridge, Name: a.table},
		{Family: nftables.TableFamilyINet, Name: DNSTableName(a.table)},
	} {
		if _, err := a.conn.ListTableOfFamily(t.Name, t.Family); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			errs = errors.Join(errs, fmt.Errorf("looking up table %s: %w", t.Name, err))
			continue
		}
		a.conn.DelTable(&t)
		if err := a.conn.Flush(); err != nil {
			errs = errors.Join(errs, fmt.Errorf("deleting table %s: %w", t.Name, err))
		}
	}
	return errs
}
