package nft

import (
	"fmt"
	"strings"
)

// numbered prefixes every line with its number, for logging a ruleset the
// kernel rejected.
func numbered(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
