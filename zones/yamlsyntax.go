package zones

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yaml.v3 reports a syntax error at the line where the enclosing block
// starts ("while parsing a block mapping"), often far above the mistake.
// The first prefix of the file that fails with the same problem ends at the
// offending line, so small files are re-parsed line by line to find it.

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// maxRefineLines bounds the quadratic search; zone files are short.
const maxRefineLines = 400

func (p *fileParser) syntaxError(data []byte, err error) {
	*p.errs = append(*p.errs, YAMLSyntaxError(p.file, data, err))
}

// YAMLSyntaxError turns a yaml.v3 decoding error of data (the content of
// file) into an Error at the offending line; the column is 1, since yaml.v3
// gives none. Other readers of YAML files (policy tests) use it too.
func YAMLSyntaxError(file string, data []byte, err error) *Error {
	problem := yamlProblem(err)
	line := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			line = n
		}
	}
	if refined, ok := firstFailingLine(data, problem); ok {
		line = refined
	}
	return &Error{Pos: Pos{File: file, Line: line, Col: 1}, Msg: "YAML syntax: " + problem}
}

// yamlProblem is the error text without yaml.v3's prefix and line.
func yamlProblem(err error) string {
	msg := yamlLineRE.ReplaceAllString(err.Error(), "")
	// yaml.v3 quotes tokens (anchor names, characters); keep them short.
	return clip(strings.ReplaceAll(strings.TrimPrefix(msg, "yaml: "), "\n", " "), 160)
}

// firstFailingLine returns the number of lines of the shortest prefix of
// data whose decoding fails with the same problem.
func firstFailingLine(data []byte, problem string) (int, bool) {
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > maxRefineLines {
		return 0, false
	}
	end := 0
	for i, l := range lines {
		end += len(l)
		if err := decodeAll(data[:end]); err != nil && yamlProblem(err) == problem {
			return i + 1, true
		}
	}
	return 0, false
}

// decodeAll decodes every document of data, returning the first error.
func decodeAll(data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("yaml: parser panic")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
