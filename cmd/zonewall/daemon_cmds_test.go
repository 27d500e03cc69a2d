package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// fakeDaemon serves fixed answers on a control socket.
type fakeDaemon struct {
	status   control.Status
	audit    control.Audit
	drops    []control.Drop
	explains map[string]control.ExplainResult // "FROM TO PORT" -> result
}

func (f *fakeDaemon) Status() control.Status { return f.status }
func (f *fakeDaemon) Audit() control.Audit   { return f.audit }
func (f *fakeDaemon) Drops() []control.Drop  { return f.drops }
func (f *fakeDaemon) FollowDrops(ctx context.Context) <-chan control.Drop {
	return make(chan control.Drop)
}
func (f *fakeDaemon) Explain(r control.ExplainRequest) (control.ExplainResult, error) {
	res, ok := f.explains[r.From+" "+r.To+" "+r.Port]
	if !ok {
		return res, &control.BadRequestError{Msg: "FROM: \"" + r.From + "\" is no running container, zone, IP address, world, world:IP or host"}
	}
	return res, nil
}

func startFakeDaemon(t *testing.T, f control.Backend) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "zwtest-d-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "zw.sock")
	s, err := control.Listen(path, f, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return path
}

// runDaemonCLI runs the CLI in-process and maps errors to exit codes as main does.
func runDaemonCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	// An empty config file: the host's /etc/zonewall must not leak into tests.
	conf := filepath.Join(t.TempDir(), "zonewall.yaml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.SetArgs(append([]string{"--config", conf}, args...))
	err := cmd.Execute()
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
		errOut.WriteString(ee.msg)
	case errors.As(err, &ue):
		code = exitUsage
		errOut.WriteString(err.Error())
	default:
		code = exitFailure
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func TestDaemonCommandsUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"status"}, {"explain", "web", "db"}, {"drops"}, {"audit"}} {
		_, stderr, code := runDaemonCLI(t, append(args, "--socket", sock)...)
		want := "zonewall: cannot reach the daemon at " + sock + ": is zonewall run running?"
		if code != 1 || stderr != want {
			t.Errorf("%v: code %d, stderr %q; want 1 and %q", args, code, stderr, want)
		}
	}
}

func TestStatusOutput(t *testing.T) {
	now := time.Now()
	f := &fakeDaemon{status: control.Status{
		Mode: "enforce", Synced: true, BridgeNetfilter: "on",
		Policy: control.PolicyStatus{Dir: "/etc/zonewall/zones.d", Source: "zones_dir", Files: []string{"a.yaml"}, Zones: 2, Flows: 3, LoadedAt: now.Add(-time.Minute),
			LastError: &control.ReloadError{At: now.Add(-5 * time.Second), Errors: []string{`zones.d/shop.yaml:14:11: flow 2: unknown zone "apii" (did you mean "api"?)`}}},
		Zones: []control.ZoneStatus{
			{Name: "web", Members: []control.Member{{ID: "abc", Name: "shop-web-1", Service: "shop/frontend"}}},
			{Name: "db", Members: []control.Member{}},
		},
		Reported:  []control.Finding{{Kind: "unzoned", Container: "lonely", ContainerID: "cccc", Detail: "matches no zone"}},
		LastApply: &control.ApplyStatus{At: now.Add(-2 * time.Second), Duration: 1200 * time.Microsecond, Full: false, Counts: map[string]int{"elements": 4}, LastSuccess: now},
		Applies:   42, DriftRepairs: 1,
	}}
	sock := startFakeDaemon(t, f)
	// The global flag works before and after the command's name.
	for _, args := range [][]string{{"--socket", sock, "status"}, {"status", "--socket", sock}} {
		out, stderr, code := runDaemonCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: code %d: %s", args, code, stderr)
		}
		for _, want := range []string{
			"mode:          enforce",
			"policy:        /etc/zonewall/zones.d (1 files, 2 zones, 3 flows), loaded 1m0s ago",
			`  zones.d/shop.yaml:14:11: flow 2: unknown zone "apii"`,
			"last apply:    ",
			"incremental, 1.2ms, elements 4",
			"applies:       42 (0 failed), drift repairs: 1",
			"  web (1): shop-web-1 [shop/frontend]",
			"  db (0): -",
			"  unzoned          lonely (cccc): matches no zone",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: status output lacks %q:\n%s", args, want, out)
			}
		}
	}
	out, _, code := runDaemonCLI(t, "status", "--json", "--socket", sock)
	var st control.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Applies != 42 || st.Zones[0].Members[0].Name != "shop-web-1" {
		t.Fatalf("status --json: code %d, %q", code, out)
	}
}

func TestExplainOutputAndExitCodes(t *testing.T) {
	f := &fakeDaemon{explains: map[string]control.ExplainResult{
		"world shop-web-1 tcp/80": {Allow: true, Reason: `flow "public-web" (zones.d/shop.yaml:12)`,
			Flow: &control.FlowRef{Label: "public-web", Pos: "zones.d/shop.yaml:12"},
			From: control.Resolved{Input: "world", Kind: "world"},
			To:   control.Resolved{Input: "shop-web-1", Kind: "container", Container: "shop-web-1", Zone: "web"}, Port: "tcp/80"},
		"web db tcp/22": {Allow: false, Reason: "no flow from web to db allows tcp/22",
			From: control.Resolved{Input: "web", Kind: "zone", Zone: "web"}, To: control.Resolved{Input: "db", Kind: "zone", Zone: "db"}, Port: "tcp/22"},
	}}
	sock := startFakeDaemon(t, f)
	out, _, code := runDaemonCLI(t, "--socket", sock, "explain", "world", "shop-web-1", "tcp/80")
	want := "allow: flow \"public-web\" (zones.d/shop.yaml:12)\n  from: world (world)\n  to:   shop-web-1 (container, zone web)\n  port: tcp/80\n"
	if code != 0 || out != want {
		t.Errorf("allow: code %d\n%s\nwant\n%s", code, out, want)
	}
	out, _, code = runDaemonCLI(t, "--socket", sock, "explain", "web", "db", "tcp/22")
	if code != 0 || !strings.HasPrefix(out, "deny: no flow from web to db allows tcp/22\n") {
		t.Errorf("deny: code %d, %q", code, out)
	}
	_, stderr, code := runDaemonCLI(t, "--socket", sock, "explain", "nosuch", "db", "tcp/22")
	if code != 1 || !strings.Contains(stderr, `"nosuch" is no running container`) {
		t.Errorf("bad input: code %d, %q; want 1", code, stderr)
	}
	if _, _, code := runDaemonCLI(t, "--socket", sock, "explain", "web"); code != 2 {
		t.Errorf("one argument: code %d, want 2", code)
	}
}

func TestAuditExitCodes(t *testing.T) {
	f := &fakeDaemon{audit: control.Audit{Findings: []control.Finding{
		{Kind: "host-network", Container: "node-exporter", ContainerID: "dddd", Detail: "shares the host's network namespace; cannot be filtered"},
		{Kind: "published-port", Container: "web-1", Detail: "publishes 0.0.0.0:2222->22/tcp on every interface, but no flow from world reaches zone web tcp/22"},
	}}}
	sock := startFakeDaemon(t, f)
	out, _, code := runDaemonCLI(t, "--socket", sock, "audit")
	if code != 3 || !strings.Contains(out, "host-network     node-exporter (dddd): shares") || !strings.Contains(out, "2 findings") {
		t.Errorf("audit with findings: code %d\n%s", code, out)
	}
	out, _, code = runDaemonCLI(t, "--socket", sock, "audit", "--json")
	var a control.Audit
	if code != 3 || json.Unmarshal([]byte(out), &a) != nil || len(a.Findings) != 2 {
		t.Errorf("audit --json: code %d, %q", code, out)
	}
	clean := startFakeDaemon(t, &fakeDaemon{audit: control.Audit{Findings: []control.Finding{}}})
	out, _, code = runDaemonCLI(t, "--socket", clean, "audit")
	if code != 0 || out != "no findings\n" {
		t.Errorf("clean audit: code %d, %q", code, out)
	}
}

func TestDropsOutput(t *testing.T) {
	f := &fakeDaemon{drops: []control.Drop{{
		Time: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC), Prefix: "zonewall drop: no flow", Decided: "no-flow-world", Proto: "tcp",
		Src: control.DropSide{Addr: "172.30.0.3", Port: 40000, Kind: "container", Container: "db-1", Service: "shop/db", Zone: "db"},
		Dst: control.DropSide{Addr: "2001:db8::7", Port: 443, Kind: "world"},
	}}}
	sock := startFakeDaemon(t, f)
	out, _, code := runDaemonCLI(t, "--socket", sock, "drops")
	want := "2026-11-25T03:00:00.000Z tcp    172.30.0.3:40000 (db-1 shop/db, zone db) -> [2001:db8::7]:443 (world)  zonewall drop: no flow [no-flow-world]\n"
	if code != 0 || out != want {
		t.Errorf("drops: code %d\n%q\nwant\n%q", code, out, want)
	}
	out, _, code = runDaemonCLI(t, "--socket", sock, "drops", "--json")
	var d control.Drop
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || d.Src.Zone != "db" {
		t.Errorf("drops --json: code %d, %q", code, out)
	}
}
