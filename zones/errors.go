package zones

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a zone file, located at the offending value.
type Error struct {
	Pos Pos
	Msg string
}

// Error renders "file:line:col: message", the one-line form operators read.
// Errors about a whole directory (Line 0) render as "dir: message".
func (e *Error) Error() string {
	if e.Pos.Line == 0 {
		return e.Pos.File + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// ErrorList is every problem found in one Load; Load returns it as its error
// so callers can print each entry on its own line.
type ErrorList []*Error

// Error joins the entries, one per line.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns nil for an empty list, so a list can be returned as an error
// without the typed-nil trap.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// MaxErrors bounds the errors one Load reports: a hostile file can hold
// hundreds of thousands of bad values, and the first thousand say enough.
const MaxErrors = 1000

// Truncate keeps the first max errors and says how many more there were,
// at the position of the first one left out.
func (l ErrorList) Truncate(max int) ErrorList {
	if len(l) <= max {
		return l
	}
	more := &Error{Pos: l[max].Pos, Msg: fmt.Sprintf("%d more errors not shown; fix these first", len(l)-max)}
	return append(l[:max:max], more)
}

// sortByFile orders errors by the position of their file in files, then by
// line and column, so output follows the order operators read the files in.
func (l ErrorList) sortByFile(files []string) {
	rank := make(map[string]int, len(files))
	for i, f := range files {
		rank[f] = i
	}
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return rank[a.File] < rank[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
