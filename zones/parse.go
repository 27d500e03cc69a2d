package zones

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// parsedFile is one zone file after its own checks; names in flows are
// resolved only once every file is read (zones may be defined elsewhere).
type parsedFile struct {
	zones    []*Zone
	flows    []*parsedFlow
	settings *parsedSettings
}

// parsedFlow keeps the endpoint names with their positions until they can be
// checked against all zones.
type parsedFlow struct {
	flow       *Flow
	from, to   []nameAt
	cidrsPos   Pos  // the `cidrs` key, for the "only with world" error
	domainsPos Pos  // the `domains` key, for the "only to world" errors
	ok         bool // false when from/to is missing or malformed
}

type nameAt struct {
	name string
	pos  Pos
}

var topKeys = []string{"version", "zones", "flows", "settings"}

// parseFile checks one file's structure; root is its document's content.
func (p *fileParser) parseFile(root *yaml.Node) *parsedFile {
	out := &parsedFile{}
	if isNull(root) {
		return out // an empty document is an empty file
	}
	if r := deref(root); r.Kind != yaml.MappingNode {
		// Never describe the value: a whole file that is one string may be
		// anything but a zone file.
		what := describe(r)
		if r.Kind == yaml.ScalarNode && r.Tag == "!!str" {
			what = "a string"
		}
		p.errorf(r, "zone file: expected a mapping, got %s (a zone file has the keys %s)", what, strings.Join(topKeys, ", "))
		return out
	}
	kvs, ok := p.mapping(root, "zone file")
	if !ok {
		return out
	}
	for _, kv := range p.checkKeys(kvs, topKeys, "zone file") {
		switch kv.key.Value {
		case "version":
			p.parseVersion(kv.value)
		case "zones":
			out.zones = p.parseZones(kv.value)
		case "flows":
			out.flows = p.parseFlows(kv.value)
		case "settings":
			out.settings = p.parseSettings(kv.key, kv.value)
		}
	}
	return out
}

func (p *fileParser) parseVersion(n *yaml.Node) {
	v, ok := p.scalar(n, "version")
	if ok && v != "1" {
		p.errorf(n, "version: unsupported version %q (the only version is 1)", v)
	}
}
