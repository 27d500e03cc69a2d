package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The same inputs give the same bytes (reproducible releases), with every
// entry under the top directory, root-owned, at the build date.
func TestTarballReproducible(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	os.WriteFile(a, []byte("binary"), 0o755)
	files := []archived{{"zonewall", a, 0o755}, {"man/zonewall.1.gz", a, 0o644}}
	when := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	p1, p2 := filepath.Join(dir, "1.tar.gz"), filepath.Join(dir, "2.tar.gz")
	if err := writeTarball(p1, "top", files, when); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := writeTarball(p2, "top", files, when); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Fatal("two tarballs of the same inputs differ")
	}
	zr, err := gzip.NewReader(bytes.NewReader(b1))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(when) {
			t.Errorf("%s: uid %d gid %d mtime %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		names = append(names, h.Name)
	}
	want := []string{"top/", "top/zonewall", "top/man/", "top/man/zonewall.1.gz"}
	if len(names) != len(want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %v, want %v", names, want)
		}
	}
}

func TestPackagedUnit(t *testing.T) {
	unit, err := packagedUnit(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("\nExecStart=/usr/bin/zonewall run\n")) || bytes.Contains(unit, []byte("/usr/local/bin")) {
		t.Fatalf("packaged unit's ExecStart is not /usr/bin/zonewall:\n%s", unit)
	}
}
