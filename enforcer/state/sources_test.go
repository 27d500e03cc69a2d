package state

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

// A policy saved from the files LoadDir read parses, from memory, into the
// policy Load gives, and its errors name the directory it came from.
func TestSavedPolicyParsesFromMemory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("flows:\n  - from: web\n    to: web\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("zones:\n  web:\n    members:\n      - name: web-*\n"), 0o600)
	want, srcs, err := zones.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := Open(t.TempDir())
	if err := st.SavePolicy(PolicyFromSources(dir, srcs)); err != nil {
		t.Fatal(err)
	}
	saved, ok, err := st.LoadPolicy()
	if !ok || err != nil {
		t.Fatalf("load: ok=%v err=%v", ok, err)
	}
	got, err := zones.Parse(saved.Sources())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parsed from state = %+v\nloaded = %+v", got, want)
	}
	saved.Files["b.yaml"] = []byte("flows:\n  - from: wbe\n    to: web\n")
	if _, err := zones.Parse(saved.Sources()); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "b.yaml")+":2:11: ") {
		t.Errorf("error from the saved copy: %v", err)
	}
}
