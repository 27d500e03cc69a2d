package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A zone-file edit applies; a broken edit changes nothing and status names
// the error with file:line; restoring the file restores the policy.
func TestZoneFileEdits(t *testing.T) {
	requireSuite(t)
	ensurePolicyDaemon(t)
	t.Cleanup(func() { writeZones(t, map[string]string{zonesFile: policyWith("")}) })
	api9999 := v4(t, api1, netFront)
	expect(t, web1, 10*time.Second, deny("web -> api tcp/9999 before the edit", api9999, "9999"))

	extra := "  - name: web-admin\n    from: web\n    to: api\n    ports: [tcp/9999]\n"
	before := policyLoadedAt(t)
	writeZones(t, map[string]string{zonesFile: policyWith(extra)})
	waitReloaded(t, before)
	expect(t, web1, 10*time.Second, allow("web -> api tcp/9999 after the edit", api9999, "9999"))

	// Broken: a flow to a zone that does not exist. Line of "to: apii".
	broken := policyWith(extra + "  - from: web\n    to: apii\n    ports: [tcp/7000]\n")
	badLine := strings.Count(broken[:strings.Index(broken, "to: apii")], "\n") + 1
	writeZones(t, map[string]string{zonesFile: broken})
	st := waitStatus(t, 10*time.Second, "reporting the broken edit", func(st controlStatus) bool {
		return st.Policy.LastError != nil && len(st.Policy.LastError.Errors) > 0
	})
	wantPos := fmt.Sprintf("%s:%d:", zonesFile, badLine)
	if !strings.Contains(strings.Join(st.Policy.LastError.Errors, "\n"), wantPos) {
		t.Errorf("status reports %q; want an error at %s", st.Policy.LastError.Errors, wantPos)
	}
	// The last valid policy (with web-admin) is still enforced, exactly.
	expect(t, web1, 0,
		allow("web -> api tcp/9999 kept after a broken edit", api9999, "9999"),
		allow("web -> api tcp/8080 kept after a broken edit", api9999, "8080"),
		deny("web -> api tcp/5432 after a broken edit", api9999, "5432"))

	before = policyLoadedAt(t)
	writeZones(t, map[string]string{zonesFile: policyWith("")})
	waitReloaded(t, before)
	// Removing a flow closes it: wait for the apply, then no attempt may pass.
	expect(t, web1, 0, deny("web -> api tcp/9999 after the flow was removed", api9999, "9999"))
}

func policyLoadedAt(t *testing.T) time.Time {
	t.Helper()
	st, err := status(t)
	if err != nil {
		t.Fatal(err)
	}
	return st.Policy.LoadedAt
}

// waitReloaded waits for a new valid policy and a successful apply after it.
func waitReloaded(t *testing.T, before time.Time) {
	t.Helper()
	waitStatus(t, 10*time.Second, "reloaded and applied", func(st controlStatus) bool {
		return st.Policy.LoadedAt.After(before) && st.Policy.LastError == nil && st.LastApply != nil &&
			st.LastApply.Error == "" && !st.LastApply.LastSuccess.Before(st.Policy.LoadedAt)
	})
}
