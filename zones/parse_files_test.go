package zones

import (
	"reflect"
	"strings"
	"testing"
)

// Parse of files in memory gives what Load gives for the same files in a
// directory, whatever order they are passed in.
func TestParseEqualsLoad(t *testing.T) {
	files := map[string]string{
		"a.yaml": baseZones,
		"b.yml":  "flows:\n  - from: web\n    to: api\n    ports: [tcp/8080]\n",
	}
	dir := writeZoneDir(t, files)
	want, srcs, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 || srcs[0].Name != "a.yaml" || string(srcs[1].Data) != files["b.yml"] {
		t.Fatalf("LoadDir sources = %+v", srcs)
	}
	reversed := []Source{srcs[1], srcs[0]}
	got, err := Parse(reversed)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v\nLoad = %+v", got, want)
	}
}

// Errors from Parse name each file's Path, or its Name when no Path is
// given; the bounds of a directory hold for files in memory too.
func TestParseErrors(t *testing.T) {
	_, err := Parse([]Source{{Name: "a.yaml", Data: []byte(baseZones)}, {Name: "b.yaml", Data: []byte("flows:\n  - from: webb\n    to: api\n")}})
	if err == nil || !strings.Contains(err.Error(), `b.yaml:2:11: flow 1: unknown zone "webb" (did you mean "web"?)`) {
		t.Errorf("unknown zone: %v", err)
	}
	_, err = Parse([]Source{{Path: "/saved/a.yaml", Name: "a.yaml", Data: []byte("zone: {}\n")}})
	if err == nil || !strings.HasPrefix(err.Error(), "/saved/a.yaml:1:1: ") {
		t.Errorf("path in errors: %v", err)
	}
	for _, bad := range []Source{
		{Name: "../a.yaml", Data: []byte(baseZones)},
		{Name: "notes.txt", Data: []byte(baseZones)},
		{Name: "big.yaml", Data: make([]byte, MaxFileSize+1)},
	} {
		if _, err := Parse([]Source{bad}); err == nil {
			t.Errorf("Parse accepted %q (%d bytes)", bad.Name, len(bad.Data))
		}
	}
	if _, err := Parse(make([]Source, MaxFiles+1)); err == nil {
		t.Errorf("Parse accepted %d files", MaxFiles+1)
	}
}
