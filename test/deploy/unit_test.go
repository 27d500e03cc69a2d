package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// unitWithBinary is deploy/zonewall.service with ExecStart pointing at the
// built binary: systemd-analyze verify needs the executable to exist.
func unitWithBinary(t *testing.T) string {
	t.Helper()
	unit := readFile(t, filepath.Join(repo, "deploy", "zonewall.service"))
	if !strings.Contains(unit, "\nExecStart=/usr/local/bin/zonewall run\n") {
		t.Fatalf("unit's ExecStart is not /usr/local/bin/zonewall run")
	}
	path := filepath.Join(t.TempDir(), "zonewall.service")
	unit = strings.Replace(unit, "ExecStart=/usr/local/bin/zonewall", "ExecStart="+zonewallBin, 1)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnitVerifies(t *testing.T) {
	requireTools(t, false, "systemd-analyze")
	r := runCmd(t, "", "systemd-analyze", "verify", unitWithBinary(t))
	if r.code != 0 || strings.TrimSpace(r.out) != "" {
		t.Fatalf("systemd-analyze verify: exit %d\n%s", r.code, r.out)
	}
}

// The hardening must not regress: systemd's own exposure score, offline.
func TestUnitSecurityExposure(t *testing.T) {
	requireTools(t, false, "systemd-analyze")
	r := runCmd(t, "", "systemd-analyze", "security", "--offline=true", unitWithBinary(t))
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(r.out)
	if m == nil {
		t.Fatalf("no exposure level in systemd-analyze security output (exit %d):\n%s", r.code, r.out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security exposure: %.1f", score)
	if score > 3.5 {
		t.Errorf("exposure %.1f, want <= 3.5 (was 2.9 when the unit was written)", score)
	}
}

// The settings the daemon and deploy/README.md rely on.
func TestUnitSettings(t *testing.T) {
	unit := readFile(t, filepath.Join(repo, "deploy", "zonewall.service"))
	settings := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		settings[k] = append(settings[k], v)
	}
	want := map[string]string{
		"Type":                    "notify",
		"Restart":                 "on-failure",
		"WatchdogSec":             "30s",
		"Before":                  "network-pre.target docker.service",
		"Wants":                   "network-pre.target",
		"CapabilityBoundingSet":   "CAP_NET_ADMIN CAP_SYS_ADMIN CAP_DAC_READ_SEARCH",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ReadWritePaths":          "/var/lib/zonewall /run/zonewall",
		"StateDirectory":          "zonewall",
		"RuntimeDirectory":        "zonewall",
		"RestrictAddressFamilies": "AF_UNIX AF_NETLINK AF_INET AF_INET6",
		"ExecStart":               "/usr/local/bin/zonewall run",
		"WantedBy":                "multi-user.target",
	}
	for k, v := range want {
		if got := strings.Join(settings[k], " | "); got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	// zonewall programs the host's network namespace and writes the
	// br_netfilter sysctls: these must stay off.
	for _, k := range []string{"PrivateNetwork", "ProtectKernelTunables", "PrivateUsers", "User", "DynamicUser"} {
		if v, ok := settings[k]; ok {
			t.Errorf("%s=%v must not be set", k, v)
		}
	}
	after := strings.Join(settings["After"], " ")
	if !strings.Contains(after, "nftables.service") {
		t.Errorf("After=%q: must follow nftables.service, whose `flush ruleset` would remove our tables", after)
	}
	// A firewall orders itself before network-pre.target; After= it too
	// would be a cycle.
	if strings.Contains(after, "network-pre.target") {
		t.Errorf("After=%q: must not follow network-pre.target (it is ordered before it)", after)
	}
}
