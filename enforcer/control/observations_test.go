package control

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/observe"
)

type obsBackend struct {
	fakeBackend
	since time.Duration
}

func (b *obsBackend) Observations(since time.Duration) Observations {
	b.since = since
	return Observations{Mode: "audit", Observing: "conntrack events", Stats: observe.Stats{Keys: 1, Cap: 10},
		Items: []observe.Observation{{From: observe.Endpoint{Kind: "container", Compose: "shop/web"}, To: observe.Endpoint{Kind: "host"}, Proto: "tcp", Port: 9100, Count: 3}}}
}

func TestObservationsRoundTrip(t *testing.T) {
	dir, err := os.MkdirTemp("", "zwtest-l-sock-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "zw.sock")
	b := &obsBackend{}
	s, err := Listen(path, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	c := NewClient(path)
	o, err := c.Observations(context.Background(), 90*time.Minute)
	if err != nil || len(o.Items) != 1 || o.Items[0].Port != 9100 || o.Stats.Cap != 10 || b.since != 90*time.Minute {
		t.Fatalf("observations = %+v, %v (since %v)", o, err, b.since)
	}

	// A daemon without observations answers clearly.
	path2 := filepath.Join(dir, "zw2.sock")
	s2, err := Listen(path2, &fakeBackend{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s2.Serve()
	defer s2.Close()
	if _, err := NewClient(path2).Observations(context.Background(), 0); err == nil {
		t.Fatal("no error from a daemon without observations")
	}
	var bad *BadRequestError
	if _, err := c.send(context.Background(), "GET", pathObs+"?since=yesterday", nil); !errors.As(err, &bad) {
		t.Fatalf("since=yesterday: %v, want a bad request", err)
	}
}
