package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// debArch maps GOARCH to Debian's architecture names.
var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64"}

// build writes every artifact for st into o.out and returns their names.
func build(o options, st stamp, log io.Writer) ([]string, error) {
	if err := prepareOut(o.out); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "zonewall-release-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	bins := map[string]string{}
	for _, arch := range o.arches {
		fmt.Fprintf(log, "building linux/%s\n", arch)
		bin := filepath.Join(work, "linux_"+arch, "zonewall")
		if err := goBuild(o.repo, arch, st, bin); err != nil {
			return nil, err
		}
		if err := checkStatic(bin, arch); err != nil {
			return nil, err
		}
		bins[arch] = bin
	}

	// Man pages and completions come from the commands themselves; they are
	// the same for every architecture, so a binary this machine runs makes them.
	docsBin, ok := bins[runtime.GOARCH]
	if !ok {
		docsBin = filepath.Join(work, "host", "zonewall")
		if err := goBuild(o.repo, runtime.GOARCH, st, docsBin); err != nil {
			return nil, err
		}
	}
	docs := filepath.Join(work, "docs")
	if out, err := exec.Command(docsBin, "--config", os.DevNull, "gen-docs", docs).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gen-docs: %v\n%s", err, out)
	}
	if err := gzipManPages(filepath.Join(docs, "man"), st.Date); err != nil {
		return nil, err
	}

	unit, err := packagedUnit(o.repo)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, "zonewall.service"), unit, 0o644); err != nil {
		return nil, err
	}

	var arts []string
	for _, arch := range o.arches {
		raw := fmt.Sprintf("zonewall_%s_linux_%s", st.Version, arch)
		if err := copyFile(bins[arch], filepath.Join(o.out, raw), 0o755); err != nil {
			return nil, err
		}
		tgz := raw + ".tar.gz"
		if err := writeTarball(filepath.Join(o.out, tgz), raw, tarballFiles(o.repo, bins[arch], docs), st.Date); err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		deb := fmt.Sprintf("zonewall_%s_%s.deb", st.Version, debArch[arch])
		fmt.Fprintf(log, "packaging %s\n", deb)
		if err := writeDeb(filepath.Join(o.out, deb), o.repo, debContents(o.repo, bins[arch], docs, work), st, debArch[arch]); err != nil {
			return nil, fmt.Errorf("%s: %w", deb, err)
		}
		arts = append(arts, raw, tgz, deb)
	}
	sort.Strings(arts)
	if err := writeChecksums(o.out, arts); err != nil {
		return nil, err
	}
	return append(arts, "SHA256SUMS"), nil
}

// prepareOut creates the output directory and removes artifacts of earlier
// runs from it; anything else in it is left alone.
func prepareOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() && (strings.HasPrefix(e.Name(), "zonewall_") || e.Name() == "SHA256SUMS") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// goBuild builds a static, reproducible binary: no cgo, no local paths, no
// build ID, and the stamp in main.version/commit/date.
func goBuild(repo, arch string, st stamp, out string) error {
	ldflags := strings.Join([]string{
		"-s", "-w", "-buildid=",
		"-X", "main.version=" + st.Version,
		"-X", "main.commit=" + st.Commit,
		"-X", "main.date=" + st.Date.Format(time.RFC3339),
	}, " ")
	cmd := exec.Command(goTool(), "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/zonewall")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build linux/%s: %v\n%s", arch, err, b)
	}
	return nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// checkStatic fails unless bin is an ELF for arch with no dynamic loader
// and no shared libraries: the binary must run on any Linux of that arch.
func checkStatic(bin, arch string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return err
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if f.Machine != want {
		return fmt.Errorf("%s: machine %v, want %v", bin, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (has an interpreter); cgo must be off", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("%s needs shared libraries %v", bin, libs)
	}
	return nil
}

// gzipManPages compresses every page in place (name.1 -> name.1.gz), with
// the build date in the header so that rebuilds are byte-identical.
func gzipManPages(dir string, when time.Time) error {
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil || len(pages) == 0 {
		return fmt.Errorf("no man pages in %s (%v)", dir, err)
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.ModTime = when
		zw.Write(b)
		if err := zw.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(p+".gz", buf.Bytes(), 0o644); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// writeChecksums writes SHA256SUMS in sha256sum's format (check it with
// `sha256sum -c SHA256SUMS` in the output directory).
func writeChecksums(dir string, names []string) error {
	var b strings.Builder
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), n)
	}
	return os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(b.String()), 0o644)
}
