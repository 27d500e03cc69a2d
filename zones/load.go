package zones

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"gopkg.in/yaml.v3"
)

// Load reads every zone file of dir (see ReadDir for which files count) in
// lexical order, merges and validates them. On any problem it returns a nil
// Policy and an ErrorList holding every error found, in file order; file
// names in errors are filepath.Join(dir, name). The returned Policy must not
// be modified.
func Load(dir string) (*Policy, error) {
	p, _, err := LoadDir(dir)
	return p, err
}

// LoadDir is Load that also returns the files it read, for a caller that
// keeps a copy of them (the daemon's state): the directory is read once.
// The files are returned only when the policy is valid.
func LoadDir(dir string) (*Policy, []Source, error) {
	srcs, errs := ReadDir(dir)
	if len(srcs) == 0 && len(errs) > 0 {
		return nil, nil, errs
	}
	p, err := loadSources(srcs, errs)
	if err != nil {
		return nil, nil, err
	}
	return p, srcs, nil
}

// Parse merges and validates zone files held in memory (a saved copy):
// each is a Name and its Data; errors name Path, or Name if Path is empty.
// Files are taken in lexical order of their names, as Load takes a
// directory's, and the same bounds hold: at most MaxFiles files of at most
// MaxFileSize bytes, names as IsZoneFileName accepts.
func Parse(files []Source) (*Policy, error) {
	srcs := make([]Source, 0, len(files))
	var errs ErrorList
	if len(files) > MaxFiles {
		return nil, ErrorList{{Pos: Pos{File: "zone files"}, Msg: fmt.Sprintf("%d zone files; at most %d are read (merge some)", len(files), MaxFiles)}}
	}
	for _, f := range files {
		if f.Path == "" {
			f.Path = f.Name
		}
		switch {
		case !IsZoneFileName(f.Name) || filepath.Base(f.Name) != f.Name:
			errs.add(Pos{File: f.Path}, fmt.Sprintf("%q is not a zone file name (*.yaml or *.yml, no directory)", f.Name))
		case len(f.Data) > MaxFileSize:
			errs.add(Pos{File: f.Path}, fmt.Sprintf("%d bytes; a zone file is at most %d", len(f.Data), MaxFileSize))
		default:
			srcs = append(srcs, f)
		}
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	return loadSources(srcs, errs)
}

// LoadSources merges and validates zone files already read (ReadDir).
func LoadSources(srcs []Source) (*Policy, error) { return loadSources(srcs, nil) }

func loadSources(srcs []Source, errs ErrorList) (*Policy, error) {
	flowCount := 0
	var files []string
	var parsed []*parsedFile
	for _, src := range srcs {
		files = append(files, src.Path)
		p := &fileParser{file: src.Path, errs: &errs, flowCount: &flowCount}
		parsed = append(parsed, p.parseDocument(src.Data))
	}
	pol := merge(files, parsed, &errs)
	if len(errs) > 0 {
		order := append([]string(nil), files...)
		for _, e := range errs {
			order = append(order, e.Pos.File) // files that could not be read
		}
		sort.Strings(order) // paths share dir: lexical order of the names
		errs.sortByFile(order)
		return nil, errs.Truncate(MaxErrors)
	}
	return pol, nil
}

func (l *ErrorList) add(pos Pos, msg string) { *l = append(*l, &Error{Pos: pos, Msg: msg}) }

// parseDocument decodes one file; a file holds at most one YAML document.
func (p *fileParser) parseDocument(data []byte) (out *parsedFile) {
	out = &parsedFile{}
	defer func() {
		// yaml.v3 has panicked on hostile input in the past; a zone file must
		// never take the daemon down.
		if r := recover(); r != nil {
			p.errs.add(Pos{File: p.file, Line: 1, Col: 1}, fmt.Sprintf("YAML parser failed: %v", r))
			out = &parsedFile{}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err != io.EOF {
			p.syntaxError(data, err)
		}
		return out
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.errorf(&next, "a zone file holds one YAML document; remove the extra \"---\"")
	} else if err != io.EOF {
		p.syntaxError(data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return out
	}
	if bad := checkAliases(&doc, MaxAliasValues); bad != nil {
		p.errorf(bad, "%s", aliasError(bad, MaxAliasValues))
		return out
	}
	return p.parseFile(doc.Content[0])
}
