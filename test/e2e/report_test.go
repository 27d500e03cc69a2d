package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zonewall/zonewall/enforcer/control"
)

// audit lists host-network, default-bridge and unzoned containers (exit 3).
func TestAuditReports(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	hostNet, dflt := prefix+"-hostnet", prefix+"-dflt"
	// Host-network containers only sleep: their listeners would be the host's.
	must(t, "docker", "run", "-d", "--name", hostNet, "--network", "host", image, "sleep", "100000")
	t.Cleanup(func() { _, _ = sh("docker", "rm", "-f", hostNet) })
	server(t, dflt)

	want := map[string]string{hostNet: "host-network", dflt: "default-bridge", stray: "unzoned", api1: "published-port"}
	var a control.Audit
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, errOut, code := zonewall(t, "audit", "--json")
		if code != 3 && code != 0 {
			t.Fatalf("audit exit %d: %s", code, errOut)
		}
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("audit --json: %v\n%s", err, out)
		}
		missing := missingFindings(a, want)
		if len(missing) == 0 {
			if code != 3 {
				t.Fatalf("audit reported findings but exited %d, want 3", code)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit does not report %v; findings: %+v", missing, a.Findings)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func missingFindings(a control.Audit, want map[string]string) []string {
	var missing []string
	for name, kind := range want {
		found := false
		for _, f := range a.Findings {
			found = found || (f.Container == name && f.Kind == kind)
		}
		if !found {
			missing = append(missing, kind+" "+name)
		}
	}
	return missing
}

// drops names both sides of a denied connection, with their zones.
func TestDropsNameContainers(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	dst := v4(t, db1, netBack)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// A fresh denied attempt each round: NFLOG is rate-limited.
		expect(t, api1, 0, deny("api -> db tcp/8080", dst, "8080"))
		out, errOut, code := zonewall(t, "drops", "--json")
		if code != 0 {
			t.Fatalf("drops exit %d: %s", code, errOut)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var d control.Drop
			if json.Unmarshal([]byte(line), &d) != nil {
				continue
			}
			if d.Src.Container == api1 && d.Dst.Container == db1 && d.Dst.Port == 8080 {
				if d.Src.Zone != "api" || d.Dst.Zone != "db" || d.Proto != "tcp" {
					t.Fatalf("drop attributed wrongly: %+v", d)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drop api1 -> db1:8080 listed; drops:\n%s", out)
		}
	}
}

// explain gives the verdict and names the deciding flow's file:line.
func TestExplainNamesTheFlow(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	cases := []struct {
		from, to, port string
		allow          bool
		flow           string
	}{
		{web1, api1, "tcp/8080", true, "web-to-api"},
		{"web", "api", "tcp/8080", true, "web-to-api"},
		{api1, "world:" + worldIP, "tcp/443", true, "api-egress"},
		{"world", web1, "tcp/80", true, "public-web"},
		{web1, db1, "tcp/5432", false, ""},
		{stray, api1, "tcp/8080", false, ""},
		{api1, "world:203.0.113.9", "tcp/443", false, ""},
	}
	for _, c := range cases {
		out, errOut, code := zonewall(t, "explain", c.from, c.to, c.port)
		if code != 0 {
			t.Errorf("explain %s %s %s: exit %d: %s", c.from, c.to, c.port, code, errOut)
			continue
		}
		verdict := "deny"
		if c.allow {
			verdict = "allow"
		}
		if !strings.HasPrefix(out, verdict) {
			t.Errorf("explain %s %s %s = %q, want %s", c.from, c.to, c.port, out, verdict)
		}
		if c.flow != "" {
			pos := fmt.Sprintf("%s:%d", zonesFile, flowLine(t, c.flow))
			if !strings.Contains(out, pos) {
				t.Errorf("explain %s %s %s = %q, want the flow's position %s", c.from, c.to, c.port, out, pos)
			}
		}
	}
}
