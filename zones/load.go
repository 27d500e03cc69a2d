package zones

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads every *.yaml and *.yml file in dir in lexical order, merges and
// validates them. On any problem it returns a nil Policy and an ErrorList
// holding every error found, in file order; file names in errors are
// filepath.Join(dir, name). The returned Policy must not be modified.
func Load(dir string) (*Policy, error) {
	names, err := zoneFileNames(dir)
	if err != nil {
		return nil, ErrorList{{Pos: Pos{File: dir}, Msg: err.Error()}}
	}
	var errs ErrorList
	flowCount := 0
	var files []string
	var parsed []*parsedFile
	for _, name := range names {
		file := filepath.Join(dir, name)
		files = append(files, file)
		p := &fileParser{file: file, errs: &errs, flowCount: &flowCount}
		data, err := os.ReadFile(file)
		if err != nil {
			p.errs.add(Pos{File: file, Line: 1, Col: 1}, fmt.Sprintf("cannot read: %v", unwrapPathError(err)))
			continue
		}
		parsed = append(parsed, p.parseDocument(data))
	}
	pol := merge(files, parsed, &errs)
	if len(errs) > 0 {
		errs.sortByFile(files)
		return nil, errs
	}
	return pol, nil
}

func (l *ErrorList) add(pos Pos, msg string) { *l = append(*l, &Error{Pos: pos, Msg: msg}) }

// zoneFileNames lists the zone files of dir, sorted.
func zoneFileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no such directory")
		}
		return nil, fmt.Errorf("cannot read directory: %w", unwrapPathError(err))
	}
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if (ext == ".yaml" || ext == ".yml") && !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.yaml or *.yml files")
	}
	sort.Strings(names)
	return names, nil
}

// unwrapPathError drops the path that our own error prefix already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

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
	return p.parseFile(doc.Content[0])
}
