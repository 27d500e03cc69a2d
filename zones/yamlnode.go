package zones

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file holds the small helpers that walk yaml.Node trees while keeping
// every value's position, so each error can point at the exact spot.

// fileParser collects the errors of one file.
type fileParser struct {
	file      string
	errs      *ErrorList
	flowCount *int // flows seen so far in this Load, across files
}

func (p *fileParser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

func (p *fileParser) errorf(n *yaml.Node, format string, args ...any) {
	*p.errs = append(*p.errs, &Error{Pos: p.pos(n), Msg: fmt.Sprintf(format, args...)})
}

// deref follows YAML aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// keyValue is one entry of a YAML mapping.
type keyValue struct {
	key, value *yaml.Node
}

// maxQuoted is the longest value an error message quotes in full.
const maxQuoted = 40

// describe names a node's type the way an operator would ("a list").
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		default:
			// Only short single-line values are quoted: a file that is not a
			// zone file at all (a secret behind a link) must not be echoed.
			if len(n.Value) > maxQuoted || strings.ContainsAny(n.Value, "\n\r") {
				return fmt.Sprintf("a string of %d characters", utf8.RuneCountInString(n.Value))
			}
			return fmt.Sprintf("the string %q", n.Value)
		}
	}
	return "an unsupported value"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mapping returns the entries of a mapping node, reporting a wrong type or
// a repeated key (yaml.v3 leaves duplicate keys in the node tree).
func (p *fileParser) mapping(n *yaml.Node, what string) ([]keyValue, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: expected a mapping, got %s", what, describe(n))
		return nil, false
	}
	seen := map[string]*yaml.Node{}
	var kvs []keyValue
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "%s: keys must be plain words, got %s", what, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, "%s: key %q is given twice (first at line %d)", what, k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		kvs = append(kvs, keyValue{k, v})
	}
	return kvs, true
}

// checkKeys reports keys outside allowed, suggesting the closest valid one.
// It returns only the known entries.
func (p *fileParser) checkKeys(kvs []keyValue, allowed []string, where string) []keyValue {
	known := kvs[:0:0]
	for _, kv := range kvs {
		ok := false
		for _, a := range allowed {
			if kv.key.Value == a {
				ok = true
				break
			}
		}
		if !ok {
			p.errorf(kv.key, "unknown key %s in %s%s", QuoteKey(kv.key.Value), where, suggest(kv.key.Value, allowed))
			continue
		}
		known = append(known, kv)
	}
	return known
}

// scalar returns a non-empty scalar's text, reporting any other value.
func (p *fileParser) scalar(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errorf(n, "%s: expected a string, got %s", what, describe(n))
		return "", false
	}
	if n.Value == "" {
		p.errorf(n, "%s: must not be empty", what)
		return "", false
	}
	return n.Value, true
}

// sequence returns the items of a non-empty list, reporting any other value.
func (p *fileParser) sequence(n *yaml.Node, what, emptyHint string) ([]*yaml.Node, bool) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: expected a list, got %s", what, describe(n))
		return nil, false
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%s: empty list%s", what, emptyHint)
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items, true
}

// keyLikeRE is a key that reads as a word; only such keys are quoted.
var keyLikeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// QuoteKey quotes an unknown key for an error message if it looks like a
// key. Anything else (a whole line of a file that is no YAML file of ours,
// such as a password file) is not echoed, only its length.
func QuoteKey(k string) string {
	if keyLikeRE.MatchString(k) {
		return strconv.Quote(k)
	}
	return fmt.Sprintf("(not shown: %d characters)", utf8.RuneCountInString(k))
}
