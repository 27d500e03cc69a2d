package termsafe

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"web-1 (zone web)\n":      "web-1 (zone web)\n",
		"tab\tok, é, 日本":          "tab\tok, é, 日本",
		"\x1b[2J\x1b]0;pwned\x07": `\x1b[2J\x1b]0;pwned\x07`,
		"cr\rover":                `cr\x0dover`,
		"del\x7f":                 `del\x7f`,
		"evil\u202etxt.yaml":      `evil\u202etxt.yaml`,
		"iso\u2066x\u2069 \u200f": `iso\u2066x\u2069 \u200f`,
		"c1 \u009b31m":            `c1 \u009b31m`,
		"bad utf8 \xff\xfe":       `bad utf8 \xff\xfe`,
		"line\u2028sep":           `line\u2028sep`,
		"":                        "",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterKeepsJSONValid(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	v := map[string]string{"name": "x\u202ey\u0085\x1b", "label": "a\"b"}
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("escaped JSON invalid: %v: %s", err, buf.Bytes())
	}
	if back["name"] != v["name"] || back["label"] != v["label"] {
		t.Errorf("round trip %q", back)
	}
	if bytes.ContainsRune(buf.Bytes(), '\u202e') || bytes.ContainsRune(buf.Bytes(), '\u0085') {
		t.Errorf("raw bidi/C1 in output: %q", buf.Bytes())
	}
}

func TestWriterReportsInputLength(t *testing.T) {
	var buf bytes.Buffer
	n, err := NewWriter(&buf).Write([]byte("a\x1bb"))
	if n != 3 || err != nil || buf.String() != `a\x1bb` {
		t.Errorf("n %d err %v out %q", n, err, buf.String())
	}
}
