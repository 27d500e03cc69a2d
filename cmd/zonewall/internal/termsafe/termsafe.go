// Package termsafe escapes what must not reach a terminal raw: container
// names, labels, file names and zone-file values come from people who may
// not be the operator reading them, and control or bidi characters in them
// could rewrite the screen (ANSI escapes) or reorder what is shown (Trojan
// Source). Newlines and tabs pass; everything else invisible is escaped.
//
// The escapes are valid inside JSON strings too (\u202e), and encoding/json
// already escapes C0 controls and invalid UTF-8, so a JSON stream passes
// through this filter still valid.
package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// String returns s with every unsafe character escaped.
func String(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	escape(&b, s)
	return b.String()
}

// Writer escapes everything written through it.
type Writer struct{ w io.Writer }

// NewWriter wraps w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write escapes p and writes it in one call. Each Write is escaped on its
// own: a character split across two writes is escaped byte by byte.
func (w *Writer) Write(p []byte) (int, error) {
	s := string(p)
	if safe(s) {
		return w.w.Write(p)
	}
	var b strings.Builder
	escape(&b, s)
	if _, err := io.WriteString(w.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			for _, r := range s[i:] {
				if r == utf8.RuneError || unsafeRune(r) {
					return false
				}
			}
			return true
		}
		if unsafeByte(c) {
			return false
		}
	}
	return true
}

func unsafeByte(c byte) bool { return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f }

// unsafeRune: C1 controls, bidi embedding/override/isolate marks, line and
// paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x80:
		return unsafeByte(byte(r))
	case r >= 0x80 && r <= 0x9f,
		r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

func escape(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(b, `\x%02x`, s[i])
		case r < 0x80 && unsafeByte(byte(r)):
			fmt.Fprintf(b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}
