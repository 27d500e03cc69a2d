package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// gen-docs writes the man pages and shell completions the release builder
// (deploy/release) packages. Hidden: it is a build step, not an operator's
// command. The pages come from the commands themselves, so they never drift
// from --help.
func init() {
	registerCommand(func(a *app) *cobra.Command {
		cmd := &cobra.Command{
			Use:    "gen-docs DIR",
			Short:  "Write man pages (DIR/man) and shell completions (DIR/completions)",
			Hidden: true,
			Args:   cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return genDocs(cmd.Root(), args[0])
			},
		}
		return cmd
	})
}

func genDocs(root *cobra.Command, dir string) error {
	manDir := filepath.Join(dir, "man")
	compDir := filepath.Join(dir, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The page date is the build date, so that a release rebuilt from the
	// same commit gives the same pages.
	when := time.Now().UTC()
	if t, err := time.Parse(time.RFC3339, buildInfo().Date); err == nil {
		when = t.UTC()
	}
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{
		Title:   "ZONEWALL",
		Section: "1",
		Source:  "zonewall " + version,
		Manual:  "zonewall manual",
		Date:    &when,
	}
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	comps := []struct {
		name string
		gen  func(f *os.File) error
	}{
		{"zonewall.bash", func(f *os.File) error { return root.GenBashCompletionV2(f, true) }},
		{"_zonewall", func(f *os.File) error { return root.GenZshCompletion(f) }},
		{"zonewall.fish", func(f *os.File) error { return root.GenFishCompletion(f, true) }},
	}
	for _, c := range comps {
		f, err := os.Create(filepath.Join(compDir, c.name))
		if err != nil {
			return err
		}
		err = c.gen(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("completion %s: %w", c.name, err)
		}
	}
	return nil
}
