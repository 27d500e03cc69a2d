package observe

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func web() Endpoint {
	return Endpoint{Kind: KindContainer, Zone: "", Compose: "shop/web", Image: "nginx:1"}
}
func api() Endpoint { return Endpoint{Kind: KindContainer, Compose: "shop/api", Image: "app:2"} }
func world(a string) Endpoint {
	return Endpoint{Kind: KindWorld, Addr: netip.MustParseAddr(a)}
}

func TestAggregates(t *testing.T) {
	s := New(0)
	for i := 0; i < 5; i++ {
		s.Record(Conn{From: web(), To: api(), Proto: "tcp", Port: 8080, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	s.Record(Conn{From: web(), To: api(), Proto: "tcp", Port: 8081, Time: t0})
	s.Record(Conn{From: api(), To: world("203.0.113.7"), Proto: "tcp", Port: 443, Time: t0.Add(time.Minute)})
	obs := s.Observations(time.Time{})
	if len(obs) != 3 {
		t.Fatalf("got %d observations, want 3: %+v", len(obs), obs)
	}
	var got []string
	for _, o := range obs {
		to := o.To.Compose
		if o.To.Addr.IsValid() {
			to = o.To.Addr.String()
		}
		got = append(got, fmt.Sprintf("%s>%s %s/%d x%d %s-%s", o.From.Compose, to, o.Proto, o.Port, o.Count,
			o.First.Format("15:04:05"), o.Last.Format("15:04:05")))
	}
	want := "shop/api>203.0.113.7 tcp/443 x1 10:01:00-10:01:00," +
		"shop/web>shop/api tcp/8080 x5 10:00:00-10:00:04," +
		"shop/web>shop/api tcp/8081 x1 10:00:00-10:00:00"
	if g := strings.Join(got, ","); g != want {
		t.Errorf("observations\n got %s\nwant %s", g, want)
	}
	if st := s.Stats(); st.Keys != 3 || st.Recorded != 7 || st.Evictions != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := len(s.Observations(t0.Add(30 * time.Second))); n != 1 {
		t.Errorf("since +30s: %d observations, want 1", n)
	}
}

func TestBoundedOldestEvicted(t *testing.T) {
	const capacity = 64
	s := New(capacity)
	for i := 0; i < 1000; i++ {
		a := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		s.Record(Conn{From: api(), To: world(a.String()), Proto: "tcp", Port: 443, Time: t0.Add(time.Duration(i) * time.Second)})
		// The first key stays fresh: it is seen every time.
		s.Record(Conn{From: web(), To: api(), Proto: "tcp", Port: 80, Time: t0.Add(time.Duration(i) * time.Second)})
		if st := s.Stats(); st.Keys > capacity {
			t.Fatalf("after %d inserts: %d keys > cap %d", i, st.Keys, capacity)
		}
	}
	st := s.Stats()
	if st.Evictions == 0 || st.Cap != capacity {
		t.Fatalf("stats %+v: want evictions reported", st)
	}
	obs := s.Observations(time.Time{})
	var sawFresh bool
	newest := netip.AddrFrom4([4]byte{198, 51, 999 >> 8, 999 & 0xff})
	var sawNewest bool
	for _, o := range obs {
		if o.To.Compose == "shop/api" && o.Count == 1000 {
			sawFresh = true
		}
		if o.To.Addr == newest {
			sawNewest = true
		}
		if o.To.Kind == KindWorld && o.Last.Before(t0.Add(900*time.Second)) {
			t.Errorf("an old key survived: %+v", o)
		}
	}
	if !sawFresh || !sawNewest {
		t.Errorf("fresh key kept %v, newest kept %v", sawFresh, sawNewest)
	}
	if len(s.eps) > capacity+2 {
		t.Errorf("%d interned endpoints for %d keys: evicted ones are not released", len(s.eps), len(obs))
	}
}

func TestPersistRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s := New(0)
	s.Record(Conn{From: web(), To: api(), Proto: "tcp", Port: 8080, Time: t0})
	s.Record(Conn{From: api(), To: Endpoint{Kind: KindHost}, Proto: "tcp", Port: 9100, Time: t0})
	s.Record(Conn{From: api(), To: world("2001:db8::7"), Proto: "udp", Port: 53, Time: t0})
	if !s.Dirty() {
		t.Fatal("not dirty after Record")
	}
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	if s.Dirty() {
		t.Fatal("dirty after Save")
	}
	r := New(0)
	if err := r.Load(path); err != nil {
		t.Fatal(err)
	}
	a, b := fmt.Sprint(s.Observations(time.Time{})), fmt.Sprint(r.Observations(time.Time{}))
	if a != b {
		t.Fatalf("round trip changed observations:\n%s\n%s", a, b)
	}
	// Loading adds up: counts of the same key merge.
	r.Record(Conn{From: web(), To: api(), Proto: "tcp", Port: 8080, Time: t0.Add(time.Hour)})
	for _, o := range r.Observations(time.Time{}) {
		if o.To.Compose == "shop/api" && (o.Count != 2 || !o.First.Equal(t0) || !o.Last.Equal(t0.Add(time.Hour))) {
			t.Errorf("merged %+v", o)
		}
	}
	// A missing file is no error.
	if err := New(0).Load(filepath.Join(dir, "none.json")); err != nil {
		t.Errorf("missing file: %v", err)
	}
}

func TestCorruptFileSetAside(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":   "{not json",
		"bad index": `{"version":1,"endpoints":[{"kind":"host"}],"protos":["tcp"],"entries":[[0,5,0,80,1,0,0]],"addrs":[""],"addr_sides":[0]}`,
		"bad kind":  `{"version":1,"endpoints":[{"kind":"boom"}],"protos":[],"entries":[]}`,
		"version":   `{"version":9}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			os.WriteFile(path, []byte(content), 0o600)
			s := New(0)
			err := s.Load(path)
			if err == nil || !strings.Contains(err.Error(), "moved aside") {
				t.Fatalf("Load = %v, want moved aside", err)
			}
			st := s.Stats()
			if st.SetAside == "" || st.Keys != 0 {
				t.Fatalf("stats %+v", st)
			}
			if _, err := os.Stat(filepath.Join(dir, st.SetAside)); err != nil {
				t.Errorf("set-aside file: %v", err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("corrupt file still in place")
			}
			// The store still works and saves a good file.
			s.Record(Conn{From: web(), To: api(), Proto: "tcp", Port: 1, Time: t0})
			if err := s.Save(path); err != nil {
				t.Fatal(err)
			}
			if err := New(0).Load(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMemory100k measures the heap of a store of 100,000 distinct keys
// (the figure; the whole daemon must stay under 40 MB).
func TestMemory100k(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	s := New(100_000)
	services := []Endpoint{web(), api(), {Kind: KindContainer, Zone: "db", Compose: "shop/db", Image: "postgres:16"}}
	for i := 0; i < 100_000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		s.Record(Conn{From: services[i%3], To: world(a.String()), Proto: "tcp", Port: uint16(443 + i%7), Time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	after := heap()
	if st := s.Stats(); st.Keys != 100_000 || st.Evictions != 0 {
		t.Fatalf("stats %+v", st)
	}
	mb := float64(after-before) / (1 << 20)
	t.Logf("100,000 distinct observations: %.1f MB of heap", mb)
	if mb > 20 {
		t.Errorf("store of 100,000 keys takes %.1f MB (> 20 MB)", mb)
	}
	runtime.KeepAlive(s)
}

func BenchmarkRecord(b *testing.B) {
	s := New(100_000)
	for i := 0; i < b.N; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		s.Record(Conn{From: web(), To: world(a.String()), Proto: "tcp", Port: 443, Time: t0})
	}
}
