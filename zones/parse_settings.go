package zones

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// settingValues lists every setting with its allowed values, default first.
var settingValues = []struct {
	key    string
	values []string
	set    func(*Settings, string)
}{
	{"mode", []string{"enforce", "audit"}, func(s *Settings, v string) { s.Mode = v }},
	{"unzoned", []string{"deny", "allow"}, func(s *Settings, v string) { s.Unzoned = v }},
	{"default_bridge", []string{"deny", "allow"}, func(s *Settings, v string) { s.DefaultBridge = v }},
	{"host_network", []string{"report", "stop"}, func(s *Settings, v string) { s.HostNetwork = v }},
	{"dns", []string{"allow", "deny"}, func(s *Settings, v string) { s.DNS = v }},
	{"host_to_containers", []string{"allow", "deny"}, func(s *Settings, v string) { s.HostToContainers = v }},
}

func settingKeys() []string {
	keys := make([]string, len(settingValues))
	for i, sv := range settingValues {
		keys[i] = sv.key
	}
	return keys
}

// parsedSettings is one settings block; Load rejects a second one.
type parsedSettings struct {
	settings Settings
	key      *yaml.Node
}

func (p *fileParser) parseSettings(key, n *yaml.Node) *parsedSettings {
	ps := &parsedSettings{settings: DefaultSettings(), key: key}
	ps.settings.Pos = p.pos(key)
	if isNull(deref(n)) {
		return ps
	}
	kvs, ok := p.mapping(n, "settings")
	if !ok {
		return ps
	}
	for _, kv := range p.checkKeys(kvs, settingKeys(), "settings") {
		for _, sv := range settingValues {
			if sv.key != kv.key.Value {
				continue
			}
			what := "settings." + sv.key
			v, ok := p.scalar(kv.value, what)
			if !ok {
				break
			}
			if !contains(sv.values, v) {
				p.errorf(kv.value, "%s: unknown value %q%s; valid values: %s", what, v, suggest(v, sv.values), strings.Join(sv.values, ", "))
				break
			}
			sv.set(&ps.settings, v)
		}
	}
	return ps
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String renders one setting as reasons quote it, e.g. "settings.dns: allow".
func settingReason(key, value string) string { return fmt.Sprintf("settings.%s: %s", key, value) }
