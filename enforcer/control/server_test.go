package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
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
