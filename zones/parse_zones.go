package zones

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	zoneNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	reservedNames = []string{"world", "host", "any"}
	zoneKeys      = []string{"description", "members"}
	selectorKeys  = []string{"name", "compose", "label", "image", "network"}
	labelKeyRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
)

func isReserved(name string) bool {
	for _, r := range reservedNames {
		if name == r {
			return true
		}
	}
	return false
}

func (p *fileParser) parseZones(n *yaml.Node) []*Zone {
	if isNull(deref(n)) {
		return nil // "zones:" with nothing under it declares none
	}
	kvs, ok := p.mapping(n, "zones")
	if !ok {
		return nil
	}
	var zones []*Zone
	for _, kv := range kvs {
		zones = append(zones, p.parseZone(kv.key, kv.value))
	}
	return zones
}

func (p *fileParser) parseZone(key, n *yaml.Node) *Zone {
	name := key.Value
	z := &Zone{Name: name, Pos: p.pos(key)}
	// A zone with a bad name or body is still returned, so flows naming it
	// are not also reported as naming an unknown zone.
	switch {
	case isReserved(name):
		p.errorf(key, "zone name %q is reserved", name)
	case !zoneNameRE.MatchString(name):
		p.errorf(key, "zone name %q is invalid: use 1-32 of a-z 0-9 _ -, starting with a letter or digit", name)
	}
	what := fmt.Sprintf("zone %q", name)
	var kvs []keyValue
	if !isNull(deref(n)) {
		var ok bool
		if kvs, ok = p.mapping(n, what); !ok {
			return z
		}
	}
	hasMembers := false
	for _, kv := range p.checkKeys(kvs, zoneKeys, what) {
		switch kv.key.Value {
		case "description":
			if deref(kv.value).Kind != yaml.ScalarNode || isNull(deref(kv.value)) {
				p.errorf(kv.value, "%s: description: expected a string, got %s", what, describe(deref(kv.value)))
				continue
			}
			z.Description = deref(kv.value).Value
		case "members":
			hasMembers = true
			items, ok := p.sequence(kv.value, what+": members", "; a zone needs at least one member selector")
			if !ok {
				continue
			}
			for i, item := range items {
				if s, ok := p.parseSelector(item, fmt.Sprintf("%s: member %d", what, i+1)); ok {
					z.Members = append(z.Members, s)
				}
			}
		}
	}
	if !hasMembers {
		p.errorf(key, "%s: missing \"members\"", what)
	}
	return z
}

func (p *fileParser) parseSelector(n *yaml.Node, what string) (Selector, bool) {
	s := Selector{Pos: p.pos(n)}
	kvs, ok := p.mapping(n, what)
	if !ok {
		return s, false
	}
	known := p.checkKeys(kvs, selectorKeys, "member selector")
	if len(kvs) == 0 {
		p.errorf(n, "%s: a selector needs at least one of %s", what, strings.Join(selectorKeys, ", "))
		return s, false
	}
	valid := len(known) == len(kvs)
	for _, kv := range known {
		key := kv.key.Value
		v, ok := p.scalar(kv.value, key)
		if !ok {
			valid = false
			continue
		}
		if msg := checkSelectorValue(key, v); msg != "" {
			p.errorf(kv.value, "%s: %q: %s", key, v, msg)
			valid = false
			continue
		}
		switch key {
		case "name":
			s.Name = strings.TrimPrefix(v, "/")
		case "compose":
			s.Compose = v
		case "label":
			s.Label = v
		case "image":
			s.Image = v
		case "network":
			s.Network = v
		}
	}
	return s, valid
}

// checkSelectorValue returns what is wrong with one selector value, or "".
func checkSelectorValue(key, v string) string {
	switch key {
	case "name", "image":
		if _, err := path.Match(v, ""); err != nil {
			return "bad glob pattern (see Go's path.Match syntax)"
		}
	case "compose":
		project, service, ok := strings.Cut(v, "/")
		if !ok || project == "" || service == "" || strings.Contains(service, "/") {
			return `want "project/service" or "project/*"`
		}
		if _, err := path.Match(v, ""); err != nil {
			return "bad glob pattern (see Go's path.Match syntax)"
		}
	case "label":
		k, _, _ := strings.Cut(v, "=")
		if !labelKeyRE.MatchString(k) {
			return `want "key=value" or "key" (the key must not be empty or contain spaces)`
		}
	case "network":
		if strings.ContainsAny(v, " \t\n") {
			return "a network name has no spaces"
		}
	}
	return ""
}
