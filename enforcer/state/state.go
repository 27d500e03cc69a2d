// Package state keeps what the daemon needs to enforce at boot, before Docker
// answers: the last valid policy (the zone files' content) and the last
// applied ruleset (the policy and inventory it was compiled from, plus its
// nft text for operators). Every file is written atomically (temp + rename),
// so a crash leaves either the old or the new version, never a mix.
//
// The JSON files carry a format version (Format). Files written before the
// version existed have format 1's layout and are read as such; a file of
// any other format (a newer zonewall's, after a downgrade) is moved aside,
// never interpreted (docs/upgrading.md).
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/zones"
)

const (
	policyFile  = "policy.json"
	appliedFile = "applied.json"
	rulesetFile = "applied.nft"
)

// Format is the layout version of policy.json and applied.json. A change
// that an older zonewall would misread must raise it; such a change should
// also use new file names, so that the older daemon finds no state rather
// than a state it cannot read.
const Format = 1

// SetAsideError reports a state file of a format this zonewall does not
// read. The file was renamed to MovedTo and is not used: the daemon starts
// as if there were no saved state (fail closed: its baseline applies).
type SetAsideError struct {
	File    string
	Format  string // as found in the file
	MovedTo string
}

func (e *SetAsideError) Error() string {
	return fmt.Sprintf("state file %s has format %s, this zonewall reads format %d: set aside as %s and not used (written by another zonewall version? see docs/upgrading.md)",
		e.File, e.Format, Format, e.MovedTo)
}

// onDisk wrappers put the format next to the fields, so a file stays a
// flat object that older daemons (which ignore unknown keys) still read.
type policyOnDisk struct {
	Format int `json:"format"`
	Policy
}

type appliedOnDisk struct {
	Format int `json:"format"`
	Applied
}

// Policy is the content of a valid zone-file directory.
type Policy struct {
	Dir     string            `json:"dir"`   // where it was read from
	Files   map[string][]byte `json:"files"` // base name -> content
	SavedAt time.Time         `json:"saved_at"`
}

// Applied is the last ruleset the kernel accepted, in a form that can be
// compiled again at boot: the policy and the inventory it was built from.
type Applied struct {
	Policy    Policy             `json:"policy"`
	Inventory enforcer.Inventory `json:"inventory"`
	AppliedAt time.Time          `json:"applied_at"`
}

// Store reads and writes state files in one directory.
type Store struct{ dir string }

// Open returns a store in dir, creating it (0700) if needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the state directory.
func (s *Store) Dir() string { return s.dir }

// ReadPolicyDir captures the zone files of dir as a Policy. Which files
// count, and how they are read, is zones.ReadDir's rule, the one Load uses.
func ReadPolicyDir(dir string) (Policy, error) {
	p := Policy{Dir: dir, Files: map[string][]byte{}}
	srcs, errs := zones.ReadDir(dir)
	if len(errs) > 0 {
		return p, errs
	}
	for _, src := range srcs {
		p.Files[src.Name] = src.Data
	}
	return p, nil
}

// PolicyFromSources captures zone files already read from dir (zones.LoadDir).
func PolicyFromSources(dir string, srcs []zones.Source) Policy {
	p := Policy{Dir: dir, Files: make(map[string][]byte, len(srcs))}
	for _, src := range srcs {
		p.Files[src.Name] = src.Data
	}
	return p
}

// Sources returns the policy's files for zones.Parse, in lexical order;
// errors then name them as in the directory they were read from.
func (p Policy) Sources() []zones.Source {
	out := make([]zones.Source, 0, len(p.Files))
	for n, data := range p.Files {
		out = append(out, zones.Source{Path: filepath.Join(p.Dir, n), Name: n, Data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WriteTo materializes the policy's files into dir so that zones.Load can read them.
func (p Policy) WriteTo(dir string) error {
	names := make([]string, 0, len(p.Files))
	for n := range p.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if filepath.Base(n) != n || n == "." || n == ".." {
			return fmt.Errorf("state: bad zone file name %q", n)
		}
		if err := os.WriteFile(filepath.Join(dir, n), p.Files[n], 0o600); err != nil {
			return fmt.Errorf("restore zone file: %w", err)
		}
	}
	return nil
}

// SavePolicy records p as the last valid policy.
func (s *Store) SavePolicy(p Policy) error {
	return s.writeJSON(policyFile, policyOnDisk{Format: Format, Policy: p})
}

// LoadPolicy returns the last valid policy; ok is false if none was saved.
func (s *Store) LoadPolicy() (p Policy, ok bool, err error) {
	var d policyOnDisk
	ok, err = s.readJSON(policyFile, &d)
	return d.Policy, ok, err
}

// SaveApplied records the last applied ruleset and, for operators, its nft text.
func (s *Store) SaveApplied(a Applied, nftText string) error {
	if err := s.writeJSON(appliedFile, appliedOnDisk{Format: Format, Applied: a}); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(s.dir, rulesetFile), []byte(nftText))
}

// LoadApplied returns the last applied ruleset; ok is false if none was saved.
// Container revisions are cleared: they numbered the live source of the
// process that saved them, and must not be matched against the current one.
func (s *Store) LoadApplied() (a Applied, ok bool, err error) {
	var d appliedOnDisk
	ok, err = s.readJSON(appliedFile, &d)
	a = d.Applied
	for i := range a.Inventory.Containers {
		a.Inventory.Containers[i].Rev = 0
	}
	return a, ok, err
}

func (s *Store) writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return writeAtomic(filepath.Join(s.dir, name), b)
}

func (s *Store) readJSON(name string, v any) (bool, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read state: %w", err)
	}
	if f, known := fileFormat(b); !known {
		return false, s.setAside(name, f)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("state file %s is corrupt: %w", filepath.Join(s.dir, name), err)
	}
	return true, nil
}

// fileFormat returns the file's format as written and whether this
// zonewall reads it: format 1, or no format key at all (files from before
// the key existed have format 1's layout). A file that is not a JSON
// object is left to the full decode, which reports it as corrupt.
func fileFormat(b []byte) (string, bool) {
	var head struct {
		Format json.RawMessage `json:"format"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Format == nil {
		return "", true
	}
	f := string(head.Format)
	return f, f == strconv.Itoa(Format)
}

// setAside renames a state file of an unknown format out of the way, so
// that the next save does not destroy it (a downgrade may be undone) and no
// later start tries it again.
func (s *Store) setAside(name, format string) error {
	tag := "unknown"
	if n, err := strconv.Atoi(format); err == nil && n >= 0 && n < 1<<20 {
		tag = strconv.Itoa(n)
	}
	from := filepath.Join(s.dir, name)
	to := fmt.Sprintf("%s.format-%s.set-aside-%s", from, tag, time.Now().UTC().Format("20060102T150405Z"))
	shown := tag // hostile input: a number, else quoted and bounded
	if tag == "unknown" {
		if len(format) > 40 {
			format = format[:40] + "..."
		}
		shown = strconv.Quote(format)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("state file %s has format %s, this zonewall reads format %d; setting it aside failed: %w", from, shown, Format, err)
	}
	return &SetAsideError{File: from, Format: shown, MovedTo: to}
}

// writeAtomic writes a temp file in the same directory, syncs it and renames
// it over path, then syncs the directory so the rename survives a crash.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state temp file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
