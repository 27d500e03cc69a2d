package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/state"
)

func appliedWith(n int) state.Applied {
	inv := enforcer.Inventory{}
	for range n {
		inv.Containers = append(inv.Containers, enforcer.Container{ID: "c", Name: "web"})
	}
	return state.Applied{Inventory: inv}
}

// One write, then nothing until the interval ends: the saves in between
// collapse into the newest, which shutdown's flush writes.
func TestSaverWritesAtMostOncePerInterval(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := newSaver(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.run(ctx)

	saved := func() int {
		a, ok, err := st.LoadApplied()
		if err != nil || !ok {
			return -1
		}
		return len(a.Inventory.Containers)
	}
	s.save(appliedWith(1), fakeRuleset{})
	deadline := time.Now().Add(2 * time.Second)
	for saved() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("first save not written")
		}
		time.Sleep(2 * time.Millisecond)
	}
	s.save(appliedWith(2), fakeRuleset{})
	s.save(appliedWith(3), fakeRuleset{})
	time.Sleep(50 * time.Millisecond)
	if n := saved(); n != 1 {
		t.Fatalf("state holds %d containers during the interval, want the first save's 1", n)
	}
	s.flush() // shutdown
	if n := saved(); n != 3 {
		t.Fatalf("state holds %d containers after the flush, want the newest save's 3", n)
	}
}
