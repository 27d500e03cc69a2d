package enforcer

import (
	"fmt"
	"strings"
)

// String renders the ruleset in nft syntax, like `nft list table` does, in a
// fixed order (tables, sets, chains, rules as built; set elements as built).
func (r *Ruleset) String() string {
	var b strings.Builder
	for i, t := range r.Tables {
		if i > 0 {
			b.WriteString("\n")
		}
		t.render(&b)
	}
	return b.String()
}

func (t *Table) render(b *strings.Builder) {
	fmt.Fprintf(b, "table %s %s {\n", t.Family, t.Name)
	for _, s := range t.Sets {
		s.render(b)
		b.WriteString("\n")
	}
	for i, c := range t.Chains {
		if i > 0 {
			b.WriteString("\n")
		}
		c.render(b)
	}
	b.WriteString("}\n")
}

// TypeString is the set's key (and data) type in nft syntax.
func (s *Set) TypeString() string {
	parts := make([]string, len(s.Key))
	for i, k := range s.Key {
		parts[i] = k.String()
	}
	out := strings.Join(parts, " . ")
	if s.Data != FieldNone {
		out += " : " + s.Data.String()
	}
	return out
}

func (s *Set) render(b *strings.Builder) {
	kind := "set"
	if s.Data != FieldNone {
		kind = "map"
	}
	fmt.Fprintf(b, "\t%s %s {\n\t\ttype %s\n", kind, s.Name, s.TypeString())
	if s.Interval {
		b.WriteString("\t\tflags interval\n")
	}
	if s.Counter {
		b.WriteString("\t\tcounter\n")
	}
	if s.Comment != "" {
		fmt.Fprintf(b, "\t\tcomment %q\n", s.Comment)
	}
	if len(s.Elements) > 0 {
		b.WriteString("\t\telements = { ")
		for i, e := range s.Elements {
			if i > 0 {
				b.WriteString(",\n\t\t\t     ")
			}
			b.WriteString(e.render(s))
		}
		b.WriteString(" }\n")
	}
	b.WriteString("\t}\n")
}

func (c *Chain) render(b *strings.Builder) {
	fmt.Fprintf(b, "\tchain %s {\n", c.Name)
	if c.Hook != "" {
		fmt.Fprintf(b, "\t\ttype filter hook %s priority %d; policy accept;\n", c.Hook, c.Priority)
	}
	for _, r := range c.Rules {
		fmt.Fprintf(b, "\t\t%s\n", r.String())
	}
	b.WriteString("\t}\n")
}

// ElementString renders one element of s as in nft's elements list; it is
// also the identity enforcer/nft uses to diff set contents.
func (s *Set) ElementString(e Element) string { return e.render(s) }
