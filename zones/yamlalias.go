package zones

import (
	"fmt"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// yaml.v3 bounds alias expansion when it decodes into Go values, but a
// yaml.Node tree keeps aliases as pointers, and walking it expands each one
// again: a 250 KB file that repeats one aliased list thousands of times
// makes a walk of billions of values. Before a file is walked, the values its
// aliases add are counted (each anchor's size is computed once), and a file
// over the limit is refused at the alias that crossed it.

// MaxAliasValues is how many values aliases may add to one file in total.
// Writing the same values out instead is bounded by MaxFileSize.
const MaxAliasValues = 100_000

// aliasBudget counts expanded sizes of anchored nodes, memoized by node.
type aliasBudget struct {
	size map[*yaml.Node]int
	busy map[*yaml.Node]bool // on the current path: an alias inside its own anchor
}

// checkAliases returns the first alias node at which the values added by
// aliases, in document order, exceed limit, or nil.
func checkAliases(root *yaml.Node, limit int) *yaml.Node {
	b := &aliasBudget{size: map[*yaml.Node]int{}, busy: map[*yaml.Node]bool{}}
	added := 0
	var walk func(n *yaml.Node) *yaml.Node
	walk = func(n *yaml.Node) *yaml.Node {
		if n.Kind == yaml.AliasNode {
			added += b.expanded(n.Alias, limit)
			if added > limit {
				return n
			}
			return nil
		}
		for _, c := range n.Content {
			if bad := walk(c); bad != nil {
				return bad
			}
		}
		return nil
	}
	return walk(root)
}

// expanded is the number of values n stands for with its aliases expanded,
// capped at limit+1 (so sums cannot overflow). A cycle counts as too many.
func (b *aliasBudget) expanded(n *yaml.Node, limit int) int {
	if n == nil {
		return 1
	}
	if s, ok := b.size[n]; ok {
		return s
	}
	if b.busy[n] {
		return limit + 1
	}
	b.busy[n] = true
	s := 1
	if n.Kind == yaml.AliasNode {
		s = b.expanded(n.Alias, limit)
	} else {
		for _, c := range n.Content {
			if s += b.expanded(c, limit); s > limit {
				s = limit + 1
				break
			}
		}
	}
	delete(b.busy, n)
	b.size[n] = s
	return s
}

// aliasError describes an alias that crossed the limit.
func aliasError(n *yaml.Node, limit int) string {
	return fmt.Sprintf("alias %q: aliases expand this file to more than %d values; "+
		"repeat less through aliases (write the values out, or give them a zone or flow of their own)",
		"*"+clip(n.Value, 64), limit)
}

// clip shortens s to at most max bytes (on a rune boundary), marking the cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
