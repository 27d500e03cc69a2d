package config

import (
	"strings"
	"testing"
)

func TestCheckEnvIgnoresOtherVariables(t *testing.T) {
	if p := CheckEnv([]string{"PATH=/bin", "ZW_REQUIRE_PRIV=1", "ZONEWALL_SOCKET=/x", "ZONEWALL_NFLOG_GROUP=7001"}); len(p) != 0 {
		t.Errorf("problems %q", p)
	}
}

func TestCheckValueOfUnknownKey(t *testing.T) {
	if _, known := CheckValue("config", "x"); known {
		t.Error("config is not a configuration key")
	}
	if p, known := CheckValue("nflog_group", "65536"); !known || !strings.Contains(p, "out of range") {
		t.Errorf("nflog_group 65536: %q %v", p, known)
	}
}

// FuzzCheckFile: any content gives one-line problems naming the file.
func FuzzCheckFile(f *testing.F) {
	for _, seed := range []string{
		"", "zones_dir: /etc/zonewall/zones.d\nnflog_group: 7001\n", "nflog_group: 70000\n", "zones_dirr: x\n",
		"a: &a [x, x]\nb: [*a, *a]\n", "socket: &s /x\nstate_dir: *s\n", "- a\n", "x: [\n", "---\n---\n",
		"log_format: !!binary aGVsbG8=\n", "? [a]\n: b\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, content string) {
		for _, p := range CheckFile("c.yaml", []byte(content)) {
			if strings.Contains(p, "\n") || !strings.HasPrefix(p, "c.yaml:") {
				t.Fatalf("malformed problem %q", p)
			}
		}
	})
}

func TestLogDrops(t *testing.T) {
	if p := CheckFile("c.yaml", []byte("log_drops: false\n")); len(p) != 0 {
		t.Errorf("log_drops: false: %q", p)
	}
	if p := CheckFile("c.yaml", []byte("log_drops: sometimes\n")); len(p) != 1 || !strings.Contains(p[0], "c.yaml:1:12: log_drops: \"sometimes\": want true or false") {
		t.Errorf("log_drops: sometimes: %q", p)
	}
	if p := CheckEnv([]string{"ZONEWALL_LOG_DROPS=0"}); len(p) != 0 {
		t.Errorf("ZONEWALL_LOG_DROPS=0: %q", p)
	}
}
