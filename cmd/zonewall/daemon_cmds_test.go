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
	// --exit-code: 1 for deny, 0 for allow (text and JSON alike).
	if out, _, code := runDaemonCLI(t, "--socket", sock, "explain", "web", "db", "tcp/22", "--exit-code"); code != 1 || !strings.HasPrefix(out, "deny: ") {
		t.Errorf("deny --exit-code: code %d, %q; want 1", code, out)
	}
	if _, _, code := runDaemonCLI(t, "--socket", sock, "explain", "web", "db", "tcp/22", "--exit-code", "-o", "json"); code != 1 {
		t.Errorf("deny --exit-code -o json: code %d; want 1", code)
	}
	if _, _, code := runDaemonCLI(t, "--socket", sock, "explain", "--exit-code", "world", "shop-web-1", "tcp/80"); code != 0 {
		t.Errorf("allow --exit-code: code %d; want 0", code)
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
	// The Docker engine is shown (after the findings), with control
	// characters from the daemon escaped; it is no finding by itself.
	withDocker := startFakeDaemon(t, &fakeDaemon{audit: control.Audit{Findings: []control.Finding{},
		Docker: &control.DockerEngine{Version: "29.0.0\x1b[2J", APIVersion: "1.52", FirewallBackend: "nftables", Support: "tested", Detail: "in CI"}}})
	code, out, _ = run(t, "--config", writeConfig(t, ""), "--socket", withDocker, "audit")
	assertEscaped(t, "audit's Docker line", out)
	if code != 0 || !strings.HasPrefix(out, "no findings\nDocker 29.0.0") || !strings.HasSuffix(out, "(API 1.52, nftables backend): tested: in CI\n") {
		t.Errorf("audit with Docker: code %d, %q", code, out)
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

func TestDropsFilters(t *testing.T) {
	now := time.Now()
	web := control.DropSide{Kind: "container", Container: "shop-web-1", ContainerID: "aaaa1111", Zone: "web", Addr: "172.30.0.2"}
	db := control.DropSide{Kind: "container", Container: "shop-db-1", ContainerID: "bbbb2222", Zone: "db", Addr: "172.30.0.3", Port: 5432}
	world := control.DropSide{Kind: "world", Addr: "198.51.100.2"}
	f := &fakeDaemon{drops: []control.Drop{
		{Time: now.Add(-time.Hour), Prefix: "old", Decided: "no-flow-container", Proto: "tcp", Src: web, Dst: db},
		{Time: now.Add(-time.Minute), Prefix: "in", Decided: "no-flow-ingress", Proto: "tcp", Src: world, Dst: db},
		{Time: now.Add(-time.Second), Prefix: "out", Decided: "no-flow-world", Proto: "udp", Src: web, Dst: world},
	}}
	sock := startFakeDaemon(t, f)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "old,in,out"},
		{[]string{"--since", "10m"}, "in,out"},
		{[]string{"--last", "1"}, "out"},
		{[]string{"-n", "2", "--zone", "db"}, "old,in"},
		{[]string{"--container", "shop-web-1", "--direction", "egress"}, "out"},
		{[]string{"--reason", "no-flow-ingress"}, "in"},
		{[]string{"--zone", "api"}, ""},
	} {
		out, stderr, code := runDaemonCLI(t, append([]string{"--socket", sock, "drops", "-o", "json"}, tc.args...)...)
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var d control.Drop
			if l != "" && json.Unmarshal([]byte(l), &d) == nil {
				got = append(got, d.Prefix)
			}
		}
		if code != 0 || strings.Join(got, ",") != tc.want {
			t.Errorf("drops %v = %d %v (%s), want %s", tc.args, code, got, stderr, tc.want)
		}
	}
	for _, args := range [][]string{{"--direction", "sideways"}, {"--since", "yesterday"}, {"--last", "-1"}} {
		if _, stderr, code := runDaemonCLI(t, append([]string{"--socket", sock, "drops"}, args...)...); code != exitUsage {
			t.Errorf("drops %v = %d (%s), want %d", args, code, stderr, exitUsage)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                  now.Add(-10 * time.Minute),
		"1h30m":                now.Add(-90 * time.Minute),
		"2026-12-07T10:00:00Z": time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		"2026-12-06 23:15":     time.Date(2026, 12, 6, 23, 15, 0, 0, time.UTC),
		"10:00":                time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSince("yesterday", now); err == nil || !strings.Contains(err.Error(), "want a duration") {
		t.Errorf("parseSince(yesterday) = %v", err)
	}
}

func TestCompletionFromTheDaemon(t *testing.T) {
	f := &fakeDaemon{status: control.Status{
		Zones:    []control.ZoneStatus{{Name: "web", Members: []control.Member{{Name: "shop-web-1"}}}, {Name: "db"}},
		Reported: []control.Finding{{Kind: "unzoned", Container: "lonely"}},
	}}
	sock := startFakeDaemon(t, f)
	out, _, _ := runDaemonCLI(t, "__complete", "--socket", sock, "explain", "")
	for _, w := range []string{"world\n", "host\n", "web\n", "db\n", "shop-web-1\n", "lonely\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("explain completion lacks %q:\n%s", w, out)
		}
	}
	out, _, _ = runDaemonCLI(t, "__complete", "--socket", sock, "explain", "web", "shop-web-1", "")
	if !strings.Contains(out, "tcp/\n") {
		t.Errorf("port completion:\n%s", out)
	}
	out, _, _ = runDaemonCLI(t, "__complete", "--socket", sock, "drops", "--zone", "w")
	if !strings.Contains(out, "web\n") || !strings.Contains(out, "world\n") || strings.Contains(out, "db\n") {
		t.Errorf("drops --zone completion:\n%s", out)
	}
	out, _, _ = runDaemonCLI(t, "__complete", "--socket", sock, "drops", "--container", "")
	if !strings.Contains(out, "shop-web-1\n") || !strings.Contains(out, "lonely\n") {
		t.Errorf("drops --container completion:\n%s", out)
	}
	// No daemon: the fixed words, quickly.
	out, _, _ = runDaemonCLI(t, "__complete", "--socket", filepath.Join(t.TempDir(), "none.sock"), "explain", "")
	if !strings.Contains(out, "world\n") || strings.Contains(out, "web\n") {
		t.Errorf("completion without a daemon:\n%s", out)
	}
}
