// Package policytest reads policy test files (spec section 2) and checks
// their expectations against a Policy with zones.Decide, offline.
//
//	expect:
//	  - "web -> api tcp/8080: allow"
//	  - "api -> world:169.254.169.254 tcp/80: deny"
package policytest

import (
	"bytes"
	"fmt"
	"io"
	"regexp"

	"github.com/zonewall/zonewall/zones"
	"gopkg.in/yaml.v3"
)

// Expectation is one "FROM -> TO PROTO/PORT: allow|deny" line.
type Expectation struct {
	Text  string // as written
	From  zones.Peer
	To    zones.Peer
	Proto zones.Proto
	Port  uint16
	Allow bool
	Pos   zones.Pos
}

// Result is an expectation with the verdict Decide gave.
type Result struct {
	Expectation
	Decision zones.Decision
}

// Pass reports whether the verdict matches the expectation.
func (r Result) Pass() bool { return r.Decision.Allow == r.Expectation.Allow }

// Run judges every expectation with p.Decide.
func Run(p *zones.Policy, exps []Expectation) []Result {
	out := make([]Result, len(exps))
	for i, e := range exps {
		out[i] = Result{Expectation: e, Decision: p.Decide(e.From, e.To, e.Proto, e.Port)}
	}
	return out
}

// ParseFile reads a test file; endpoints must name zones of p. Problems come
// back as a zones.ErrorList, one "file:line:col: message" per bad line.
func ParseFile(file string, p *zones.Policy) ([]Expectation, error) {
	data, err := zones.ReadRegularFile(file, MaxFileSize)
	if err != nil {
		return nil, zones.ErrorList{{Pos: zones.Pos{File: file}, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Parse(file, data, p)
}

// MaxFileSize is the largest test file read, as for zone files.
const MaxFileSize = zones.MaxFileSize

// Parse is ParseFile on data already read; file names the errors.
func Parse(file string, data []byte, p *zones.Policy) ([]Expectation, error) {
	var errs zones.ErrorList
	at := func(n *yaml.Node) zones.Pos { return zones.Pos{File: file, Line: n.Line, Col: n.Column} }
	fail := func(pos zones.Pos, format string, args ...any) {
		errs = append(errs, &zones.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, zones.ErrorList{zones.YAMLSyntaxError(file, data, err)}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		fail(at(&next), `a test file holds one YAML document; remove the extra "---" (or put the expectations in one list)`)
		return nil, errs
	case err != io.EOF:
		return nil, zones.ErrorList{zones.YAMLSyntaxError(file, data, err)}
	}
	if len(doc.Content) == 0 {
		fail(zones.Pos{File: file, Line: 1, Col: 1}, `empty test file; want "expect:" with a list of expectations`)
		return nil, errs
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		fail(at(root), `expected a mapping with "expect:"`)
		return nil, errs
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Value != "expect":
			fail(at(k), "unknown key %s in test file (the only key is \"expect\")", zones.QuoteKey(k.Value))
		case list != nil:
			fail(at(k), "key \"expect\" is given twice")
		default:
			list = v
		}
	}
	if list == nil {
		if len(errs) == 0 {
			fail(at(root), `missing "expect"`)
		}
		return nil, errs
	}
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		fail(at(list), "expect: expected a non-empty list of strings")
		return nil, errs
	}
	var exps []Expectation
	for _, item := range list.Content {
		if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
			fail(at(item), `expect: each item is a string like "web -> api tcp/8080: allow"`)
			continue
		}
		e, err := parseExpectation(item.Value, p)
		if err != nil {
			fail(at(item), "%q: %v", clip(item.Value), err)
			continue
		}
		e.Pos = at(item)
		exps = append(exps, e)
	}
	if len(errs) > 0 {
		return nil, errs.Truncate(zones.MaxErrors)
	}
	return exps, nil
}

// clip shortens a quoted expectation: a test file may hold anything.
func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

var expectRE = regexp.MustCompile(`^\s*(\S+)\s*->\s*(\S+)(?:\s+(\S+))?\s*:\s*(\S+)\s*$`)

func parseExpectation(s string, p *zones.Policy) (Expectation, error) {
	m := expectRE.FindStringSubmatch(s)
	if m == nil {
		return Expectation{}, fmt.Errorf(`want "FROM -> TO PROTO/PORT: allow|deny"`)
	}
	e := Expectation{Text: s}
	var err error
	if e.From, err = p.ParsePeer(m[1]); err != nil {
		return e, fmt.Errorf("from: %w", err)
	}
	if e.From.Name != "" {
		return e, fmt.Errorf("from: %w", zones.ErrNameAsSource)
	}
	if e.To, err = p.ParsePeer(m[2]); err != nil {
		return e, fmt.Errorf("to: %w", err)
	}
	if m[3] != "" {
		if e.Proto, e.Port, err = zones.ParseProtoPort(m[3]); err != nil {
			return e, err
		}
		if (e.Proto == zones.ProtoTCP || e.Proto == zones.ProtoUDP) && e.Port == 0 {
			return e, fmt.Errorf("%s needs a port, e.g. %s/443", e.Proto, e.Proto)
		}
	}
	switch m[4] {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		return e, fmt.Errorf("verdict %q: want allow or deny", m[4])
	}
	return e, nil
}
