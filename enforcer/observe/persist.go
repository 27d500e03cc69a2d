package observe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// FileName is the store's file in the state directory.
const FileName = "observations.json"

// maxFileSize bounds what Load reads: a file larger than any store of
// DefaultCap keys could write is not ours.
const maxFileSize = 256 << 20

// fileFormat is the persisted form: endpoints (without world addresses)
// and protocols once, then one compact row per key: [from, to, proto,
// port, count, first, last] and the world address of the row, if any.
type fileFormat struct {
	Version   int          `json:"version"`
	Endpoints []Endpoint   `json:"endpoints"`
	Protos    []string     `json:"protos"`
	Entries   [][7]int64   `json:"entries"`
	Addrs     []netip.Addr `json:"addrs"` // per entry; the zero address when none
	AddrSides []uint8      `json:"addr_sides"`
	Evictions uint64       `json:"evictions"`
}

// Dirty reports whether anything was recorded since the last Save or Load.
func (s *Store) Dirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirty
}

// Save writes the store to path atomically (temp file + rename), so a crash
// leaves the old or the new file, never a mix.
func (s *Store) Save(path string) error {
	s.mu.Lock()
	f := fileFormat{Version: 1, Endpoints: append([]Endpoint(nil), s.eps...), Protos: append([]string(nil), s.protos...),
		Entries: make([][7]int64, len(s.entries)), Addrs: make([]netip.Addr, len(s.entries)),
		AddrSides: make([]uint8, len(s.entries)), Evictions: s.evictions}
	for i, e := range s.entries {
		f.Entries[i] = [7]int64{int64(e.k.from), int64(e.k.to), int64(e.k.proto), int64(e.k.port), int64(e.count), e.first, e.last}
		if side := e.k.addrSide & 3; side != 0 {
			o := s.observation(e)
			f.Addrs[i], f.AddrSides[i] = o.To.Addr, side
			if side == 1 {
				f.Addrs[i] = o.From.Addr
			}
		}
	}
	s.dirty = false
	s.mu.Unlock()
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("observations: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("observations: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("observations: %w", err)
	}
	return nil
}

// Load merges the observations saved at path into the store. A missing
// file is no error. A file that cannot be read as observations is moved
// aside to path.corrupt-<unix time> (kept for the operator, reported by
// Stats.SetAside) and the error says so; the store then starts empty.
func (s *Store) Load(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("observations: %w", err)
	}
	var f fileFormat
	err = func() error {
		if fi.Size() > maxFileSize {
			return fmt.Errorf("%d bytes, more than %d", fi.Size(), maxFileSize)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return err
		}
		return f.check()
	}()
	if err != nil {
		aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
		if rerr := os.Rename(path, aside); rerr != nil {
			return fmt.Errorf("observations %s unreadable (%v) and not moved aside: %w", path, err, rerr)
		}
		s.mu.Lock()
		s.setAside = filepath.Base(aside)
		s.mu.Unlock()
		return fmt.Errorf("observations %s unreadable (%v): moved aside to %s, starting empty", path, err, aside)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range f.Entries {
		from, to := f.Endpoints[r[0]], f.Endpoints[r[1]]
		switch f.AddrSides[i] {
		case 1:
			from.Addr = f.Addrs[i]
		case 2:
			to.Addr = f.Addrs[i]
		}
		s.add(from, to, f.Protos[r[2]], uint16(r[3]), uint64(r[4]), r[5], r[6])
	}
	s.evictions += f.Evictions
	s.dirty = false
	return nil
}

func (f *fileFormat) check() error {
	if f.Version != 1 {
		return fmt.Errorf("version %d, want 1", f.Version)
	}
	if len(f.Addrs) != len(f.Entries) || len(f.AddrSides) != len(f.Entries) {
		return fmt.Errorf("%d entries but %d addresses and %d sides", len(f.Entries), len(f.Addrs), len(f.AddrSides))
	}
	for i, r := range f.Entries {
		if f.AddrSides[i] > 2 || (f.AddrSides[i] != 0) != f.Addrs[i].IsValid() {
			return fmt.Errorf("entry %d: bad address", i)
		}
		if r[0] < 0 || r[0] >= int64(len(f.Endpoints)) || r[1] < 0 || r[1] >= int64(len(f.Endpoints)) ||
			r[2] < 0 || r[2] >= int64(len(f.Protos)) || r[3] < 0 || r[3] > 65535 || r[4] < 0 {
			return fmt.Errorf("entry %d out of range", i)
		}
	}
	for i, ep := range f.Endpoints {
		switch ep.Kind {
		case KindContainer, KindWorld, KindHost:
		default:
			return fmt.Errorf("endpoint %d: kind %q", i, ep.Kind)
		}
	}
	return nil
}
