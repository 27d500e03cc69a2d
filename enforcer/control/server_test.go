package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBackend answers with fixed data and lets tests push drops.
type fakeBackend struct {
	mu   sync.Mutex
	subs []chan Drop
}

func (f *fakeBackend) Status() Status { return Status{Mode: "audit", Applies: 7} }
func (f *fakeBackend) Audit() Audit {
	return Audit{Findings: []Finding{{Kind: "unzoned", Container: "x", Detail: "matches no zone"}}}
}
func (f *fakeBackend) Explain(r ExplainRequest) (ExplainResult, error) {
	if r.From == "bad" {
		return ExplainResult{}, &BadRequestError{Msg: `FROM: "bad" is no zone`}
	}
	return ExplainResult{Allow: true, Reason: "flow 1 (a.yaml:3)", From: Resolved{Input: r.From}, Port: r.Port}, nil
}
func (f *fakeBackend) Drops() []Drop { return []Drop{{Prefix: "old"}} }
func (f *fakeBackend) FollowDrops(ctx context.Context) <-chan Drop {
	ch := make(chan Drop, 8)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch
}
func (f *fakeBackend) push(d Drop) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ch := range f.subs {
		ch <- d
	}
	return len(f.subs) > 0
}

func serve(t *testing.T) (string, *fakeBackend) {
	t.Helper()
	dir, err := os.MkdirTemp("", "zwtest-d-sock-") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "run", "zw.sock")
	b := &fakeBackend{}
	s, err := Listen(path, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return path, b
}

func TestSocketModes(t *testing.T) {
	path, _ := serve(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", di.Mode().Perm())
	}
	// A second daemon must not steal a live socket.
	if _, err := Listen(path, &fakeBackend{}, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Error("a second Listen on a live socket succeeded")
	}
}

func TestRoundTrips(t *testing.T) {
	path, b := serve(t)
	c := NewClient(path)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.Mode != "audit" || st.Applies != 7 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	a, err := c.Audit(ctx)
	if err != nil || len(a.Findings) != 1 || a.Findings[0].Container != "x" {
		t.Fatalf("audit = %+v, %v", a, err)
	}
	res, err := c.Explain(ctx, ExplainRequest{From: "web", To: "db", Port: "tcp/5432"})
	if err != nil || !res.Allow || res.Port != "tcp/5432" || res.From.Input != "web" {
		t.Fatalf("explain = %+v, %v", res, err)
	}
	_, err = c.Explain(ctx, ExplainRequest{From: "bad", To: "db"})
	var bad *BadRequestError
	if !errors.As(err, &bad) || bad.Msg != `FROM: "bad" is no zone` {
		t.Fatalf("bad explain: %v, want BadRequestError", err)
	}

	// drops: the backlog, then a live one with follow.
	var got []string
	if err := c.Drops(ctx, false, func(d Drop) error { got = append(got, d.Prefix); return nil }); err != nil || len(got) != 1 {
		t.Fatalf("drops = %v, %v", got, err)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	seen := make(chan string, 4)
	go func() {
		done <- c.Drops(fctx, true, func(d Drop) error { seen <- d.Prefix; return nil })
	}()
	if p := <-seen; p != "old" {
		t.Fatalf("follow backlog = %q", p)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !b.push(Drop{Prefix: "new"}) {
		if time.Now().After(deadline) {
			t.Fatal("follower never subscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case p := <-seen:
		if p != "new" {
			t.Fatalf("followed drop = %q", p)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("live drop not streamed")
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("follow ended with %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Status(context.Background())
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	want := "cannot reach the daemon at " + filepath.Join(filepath.Dir(c.socket), "none.sock") + ": is zonewall run running?"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestDropQueryFilters(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	web := DropSide{Kind: "container", Container: "shop-web-1", ContainerID: "aaaa11112222", Zone: "web", Addr: "172.30.0.2"}
	db := DropSide{Kind: "container", Container: "shop-db-1", ContainerID: "bbbb11112222", Zone: "db", Addr: "172.30.0.3"}
	lone := DropSide{Kind: "container", Container: "lonely", ContainerID: "cccc11112222", Addr: "172.30.0.4"}
	world := DropSide{Kind: "world", Addr: "198.51.100.2"}
	drops := []Drop{
		{Time: t0, Prefix: "a", Decided: "no-flow-container", Src: web, Dst: db},
		{Time: t0.Add(time.Minute), Prefix: "b", Decided: "no-flow-ingress", Src: world, Dst: db},
		{Time: t0.Add(2 * time.Minute), Prefix: "c", Decided: "no-flow-world", Src: lone, Dst: world},
		{Time: t0.Add(3 * time.Minute), Prefix: "zw:drop:gone ", Src: web, Dst: DropSide{Kind: "host", Addr: "10.0.0.1"}},
	}
	for _, tc := range []struct {
		q    DropQuery
		want string
	}{
		{DropQuery{}, "a b c zw:drop:gone "},
		{DropQuery{Zone: "db"}, "a b"},
		{DropQuery{Zone: "unzoned"}, "c"},
		{DropQuery{Zone: "world"}, "b c"},
		{DropQuery{Container: "shop-web-1"}, "a zw:drop:gone "},
		{DropQuery{Container: "bbbb111"}, "a b"},
		{DropQuery{Container: "bbbb11112222ffffffff"}, "a b"}, // a full ID
		{DropQuery{Container: "bb"}, ""},                      // too short a prefix
		{DropQuery{Direction: DirectionIngress}, "b"},
		{DropQuery{Direction: DirectionEgress}, "c"},
		{DropQuery{Direction: DirectionToHost}, "zw:drop:gone "},
		{DropQuery{Reason: "no-flow-world"}, "c"},
		{DropQuery{Reason: "zw:drop:gone"}, "zw:drop:gone "}, // unattributed: the prefix
		{DropQuery{Since: t0.Add(90 * time.Second)}, "c zw:drop:gone "},
		{DropQuery{Last: 2}, "c zw:drop:gone "},
		{DropQuery{Last: 1, Zone: "db"}, "b"},
	} {
		var got []string
		for _, d := range tc.q.Select(drops) {
			got = append(got, d.Prefix)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.q, strings.Join(got, " "), tc.want)
		}
		// The query survives the trip through the URL.
		back, err := parseDropQuery(tc.q.values())
		if err != nil || !back.Since.Equal(tc.q.Since) {
			t.Errorf("%+v: round trip %+v, %v", tc.q, back, err)
		}
		back.Since = tc.q.Since
		if back != tc.q {
			t.Errorf("round trip %+v, want %+v", back, tc.q)
		}
	}
	if err := (DropQuery{Direction: "sideways"}).Validate(); err == nil || !strings.Contains(err.Error(), "ingress, egress") {
		t.Errorf("bad direction: %v", err)
	}
}

func TestDropsMatchingFiltersOnTheServer(t *testing.T) {
	path, _ := serve(t)
	c := NewClient(path)
	for q, want := range map[DropQuery]string{{Reason: "old"}: "old", {Zone: "db"}: ""} {
		var got []string
		err := c.DropsMatching(context.Background(), q, func(d Drop) error { got = append(got, d.Prefix); return nil })
		if err != nil || strings.Join(got, ",") != want {
			t.Fatalf("drops %+v = %v, %v; want %q", q, got, err, want)
		}
	}
	err := c.DropsMatching(context.Background(), DropQuery{Direction: "sideways"}, func(Drop) error { return nil })
	var bad *BadRequestError
	if !errors.As(err, &bad) {
		t.Fatalf("bad direction: %v, want BadRequestError", err)
	}
}

// Followed drops pass the same filters as the backlog.
func TestFollowedDropsAreFiltered(t *testing.T) {
	path, b := serve(t)
	c := NewClient(path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 8)
	done := make(chan error, 1)
	db := DropSide{Kind: "container", Zone: "db"}
	go func() {
		done <- c.DropsMatching(ctx, DropQuery{Follow: true, Zone: "db"}, func(d Drop) error { seen <- d.Prefix; return nil })
	}()
	deadline := time.Now().Add(2 * time.Second)
	for !b.push(Drop{Prefix: "web-only", Src: DropSide{Kind: "container", Zone: "web"}, Dst: DropSide{Kind: "world"}}) {
		if time.Now().After(deadline) {
			t.Fatal("follower never subscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.push(Drop{Prefix: "to-db", Src: DropSide{Kind: "world"}, Dst: db})
	select {
	case p := <-seen:
		if p != "to-db" {
			t.Fatalf("first followed drop %q, want to-db (the backlog's and web-only do not match)", p)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("matching drop not streamed")
	}
	cancel()
	<-done
}
