package main

import (
	"archive/tar"
	"compress/gzip"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// archived is one file of the tarball: its path inside and where it comes from.
type archived struct {
	name string
	src  string
	mode int64
}

// tarballFiles lists what the .tar.gz holds besides the binary: the same
// man pages and completions as the package, and the documents.
func tarballFiles(repo, bin, docs string) []archived {
	files := []archived{
		{"zonewall", bin, 0o755},
		{"LICENSE", filepath.Join(repo, "LICENSE"), 0o644},
		{"README.md", filepath.Join(repo, "README.md"), 0o644},
		{"CHANGELOG.md", filepath.Join(repo, "CHANGELOG.md"), 0o644},
		{"zonewall.service", filepath.Join(repo, "deploy", "zonewall.service"), 0o644},
		{"zonewall.yaml", filepath.Join(repo, "deploy", "zonewall.yaml"), 0o644},
	}
	for _, dir := range []string{"man", "completions"} {
		ents, _ := os.ReadDir(filepath.Join(docs, dir))
		for _, e := range ents {
			files = append(files, archived{dir + "/" + e.Name(), filepath.Join(docs, dir, e.Name()), 0o644})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files
}

// writeTarball writes a reproducible .tar.gz (sorted, root-owned, every
// time the build date) whose entries sit under top/.
func writeTarball(path, top string, files []archived, when time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	zw.ModTime = when
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	addDir := func(d string) error {
		if dirs[d] {
			return nil
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: when})
	}
	if err := addDir(top); err != nil {
		return err
	}
	for _, a := range files {
		b, err := os.ReadFile(a.src)
		if err != nil {
			return err
		}
		name := top + "/" + a.name
		if d := filepath.Dir(name); d != top {
			if err := addDir(d); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: a.mode, Size: int64(len(b)), ModTime: when}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
