package policytest

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/zonewall/zonewall/zones"
)

var errorLineRE = regexp.MustCompile(`^t\.yaml:[1-9][0-9]*:[1-9][0-9]*: \S`)

// FuzzParse: a test file never panics the parser, and every problem is one
// line naming the file, line and column.
func FuzzParse(f *testing.F) {
	f.Add("expect:\n  - \"web -> api tcp/8080: allow\"\n")
	f.Add("expect:\n  - \"api -> world:169.254.169.254 tcp/80: deny\"\n  - \"world -> web: allow\"\n")
	f.Add("expect: [\"web->api icmp: deny\", 3, {a: b}]\n")
	f.Add("expect:\n\t- x\n")
	f.Fuzz(func(t *testing.T, data string) {
		pol := fuzzPolicy(t)
		exps, err := Parse("t.yaml", []byte(data), pol)
		if err == nil {
			Run(pol, exps)
			return
		}
		var list zones.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error is not a non-empty ErrorList: %v", err)
		}
		for _, e := range list {
			if line := e.Error(); strings.Contains(line, "\n") || !errorLineRE.MatchString(line) {
				t.Fatalf("malformed error line %q", line)
			}
		}
	})
}

var cachedPolicy *zones.Policy

func fuzzPolicy(t *testing.T) *zones.Policy {
	if cachedPolicy == nil {
		cachedPolicy = loadPolicy(t)
	}
	return cachedPolicy
}
