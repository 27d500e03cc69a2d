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

	want := map[string]string{hostNet: "host-network", dflt: "default-bridge", stray: "unzoned"}
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
