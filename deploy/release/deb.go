package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the "deb" packager
	"github.com/goreleaser/nfpm/v2/files"
)

// Installed paths (Debian's layout; deploy/install.sh uses /usr/local).
const (
	debBinary = "/usr/bin/zonewall"
	debUnit   = "/lib/systemd/system/zonewall.service"
	debConfig = "/etc/zonewall/zonewall.yaml"
	debZones  = "/etc/zonewall/zones.d"
	debDoc    = "/usr/share/doc/zonewall"
)

const debDescription = `deny-by-default network isolation between Docker containers
 zonewall enforces trust zones between Docker containers with nftables:
 zone files (YAML, kept in git) say which containers belong together and
 which connections between zones, the host and the outside world are
 allowed; everything else is dropped. The daemon follows Docker's events
 and keeps one ruleset in step with the running containers; explain, drops,
 audit, check and test tell what is allowed, what was dropped and why.
 .
 The package installs the daemon as zonewall.service but neither enables
 nor starts it: add zone files to /etc/zonewall/zones.d first.`

// debContents lists every file of the package. work is a scratch directory
// for files derived from the checkout (the unit with the package's path).
func debContents(repo, bin, docs, work string) files.Contents {
	c := files.Contents{
		{Source: bin, Destination: debBinary, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
		{Source: filepath.Join(work, "zonewall.service"), Destination: debUnit, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(repo, "deploy", "zonewall.yaml"), Destination: debConfig, Type: files.TypeConfigNoReplace, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Destination: debZones, Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
		{Source: filepath.Join(docs, "completions", "zonewall.bash"), Destination: "/usr/share/bash-completion/completions/zonewall", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(docs, "completions", "_zonewall"), Destination: "/usr/share/zsh/vendor-completions/_zonewall", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(docs, "completions", "zonewall.fish"), Destination: "/usr/share/fish/vendor_completions.d/zonewall.fish", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(repo, "LICENSE"), Destination: debDoc + "/copyright", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(repo, "README.md"), Destination: debDoc + "/README.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(repo, "CHANGELOG.md"), Destination: debDoc + "/CHANGELOG.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(repo, "docs", "upgrading.md"), Destination: debDoc + "/upgrading.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
		{Source: filepath.Join(repo, "docs", "zone-files.md"), Destination: debDoc + "/zone-files.md", FileInfo: &files.ContentFileInfo{Mode: 0o644}},
	}
	pages, _ := filepath.Glob(filepath.Join(docs, "man", "*.1.gz"))
	sort.Strings(pages)
	for _, p := range pages {
		c = append(c, &files.Content{Source: p, Destination: "/usr/share/man/man1/" + filepath.Base(p), FileInfo: &files.ContentFileInfo{Mode: 0o644}})
	}
	// The example policy, to copy into zones.d (not installed there: zonewall
	// denies by default and must not start on someone else's policy).
	for _, dir := range []string{"zones.d", "tests"} {
		ex, _ := filepath.Glob(filepath.Join(repo, "deploy", "examples", dir, "*.yaml"))
		sort.Strings(ex)
		for _, p := range ex {
			c = append(c, &files.Content{Source: p, Destination: debDoc + "/examples/" + dir + "/" + filepath.Base(p), FileInfo: &files.ContentFileInfo{Mode: 0o644}})
		}
	}
	return c
}

// packagedUnit is deploy/zonewall.service with ExecStart at the package's
// binary.
func packagedUnit(repo string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(repo, "deploy", "zonewall.service"))
	if err != nil {
		return nil, err
	}
	const from = "\nExecStart=/usr/local/bin/zonewall run\n"
	if !strings.Contains(string(b), from) {
		return nil, fmt.Errorf("deploy/zonewall.service: no %q line to point at %s", strings.TrimSpace(from), debBinary)
	}
	return []byte(strings.Replace(string(b), from, "\nExecStart="+debBinary+" run\n", 1)), nil
}

// writeDeb packages contents for one architecture with nfpm; the
// maintainer scripts come from deploy/debian.
func writeDeb(path, repo string, contents files.Contents, st stamp, arch string) error {
	info := &nfpm.Info{
		Name:          "zonewall",
		Arch:          arch,
		Platform:      "linux",
		Version:       st.Version,
		VersionSchema: "none", // the version is already Debian's; no semver rewriting
		Section:       "net",
		Priority:      "optional",
		Maintainer:    "zonewall maintainers <zonewall@users.noreply.github.com>",
		Description:   debDescription,
		Vendor:        "zonewall",
		Homepage:      "https://github.com/zonewall/zonewall",
		License:       "Apache-2.0",
		MTime:         st.Date,
		Overridables: nfpm.Overridables{
			Recommends: []string{"nftables"},
			Suggests:   []string{"docker.io | docker-ce"},
			Contents:   contents,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(repo, "deploy", "debian", "postinst"),
				PreRemove:   filepath.Join(repo, "deploy", "debian", "prerm"),
				PostRemove:  filepath.Join(repo, "deploy", "debian", "postrm"),
			},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return err
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
