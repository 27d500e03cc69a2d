// Package config checks zonewall's daemon configuration (spec section 3)
// before viper merges it: the file, the ZONEWALL_* variables and the flags.
// Unknown keys and bad values are errors naming the key (file:line:col for
// the file), as in zone files.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/zonewall/zonewall/zones"
)

// MaxSize bounds the configuration file.
const MaxSize = 64 << 10

// check returns what is wrong with one value of a key, or "".
type check func(v string) string

// keys are the keys of spec section 3 (plus log_level and log_drops), with
// their checks.
var keys = map[string]check{
	"zones_dir":      nonEmpty,
	"docker_host":    anyValue,
	"socket":         nonEmpty,
	"state_dir":      nonEmpty,
	"metrics_listen": listenAddress,
	"log_format":     oneOf("text", "json"),
	"log_level":      oneOf("debug", "info", "warn", "error"),
	"nflog_group":    portLike("netfilter log group", 1, 65535),
	"log_drops":      boolean,
	"dns_port":       portLike("DNS forwarder port (0: off)", 0, 65535),
	"dns_upstreams":  upstreams,
}

// upstreams: resolver addresses host:port, separated by spaces or commas.
func upstreams(v string) string {
	for _, a := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if _, err := netip.ParseAddrPort(a); err != nil {
			return fmt.Sprintf("%s: want resolver addresses like 192.0.2.53:53 or [2001:db8::53]:53, separated by spaces", clipQuote(a))
		}
	}
	return ""
}

// Keys lists the configuration keys, sorted.
func Keys() []string {
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func anyValue(string) string { return "" }

func boolean(v string) string {
	if _, err := strconv.ParseBool(v); err != nil {
		return fmt.Sprintf("%s: want true or false", clipQuote(v))
	}
	return ""
}

func nonEmpty(v string) string {
	if v == "" {
		return "must not be empty"
	}
	return ""
}

func oneOf(allowed ...string) check {
	return func(v string) string {
		for _, a := range allowed {
			if v == a {
				return ""
			}
		}
		return fmt.Sprintf("%s: want %s%s", clipQuote(v), strings.Join(allowed, " or "), zones.Suggest(v, allowed))
	}
}

func portLike(what string, lo, hi int) check {
	return func(v string) string {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange):
			return fmt.Sprintf("%s: %s out of range %d-%d", clipQuote(v), what, lo, hi)
		case err != nil:
			return fmt.Sprintf("%s: not a number (a %s, %d-%d)", clipQuote(v), what, lo, hi)
		case n < int64(lo) || n > int64(hi):
			return fmt.Sprintf("%d: %s out of range %d-%d", n, what, lo, hi)
		}
		return ""
	}
}

// listenAddress accepts "" (off) or host:port with a port 0-65535.
func listenAddress(v string) string {
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Sprintf("%s: want host:port, e.g. 127.0.0.1:9477", clipQuote(v))
	}
	if msg := portLike("port", 0, 65535)(port); msg != "" {
		return msg
	}
	return ""
}

// clipQuote quotes a value for a message, shortened: it may be anything.
func clipQuote(v string) string {
	if len(v) > 64 {
		v = v[:64] + "..."
	}
	return strconv.Quote(v)
}

// ReadFile reads the configuration file the way zone files are read: only a
// regular file, never opened if it is not one, at most MaxSize. viper then
// reads these bytes, never the file, so a FIFO or a huge file cannot hang
// or exhaust it.
// --config /dev/null is the usual way to say "no configuration file".
func ReadFile(path string) ([]byte, error) {
	if filepath.Clean(path) == os.DevNull {
		return []byte{}, nil
	}
	return zones.ReadRegularFile(path, MaxSize)
}

// CheckFile returns every problem of a configuration file's content, one
// "file:line:col: message" each.
func CheckFile(file string, data []byte) (problems []string) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 has panicked on hostile input before
			problems = []string{fmt.Sprintf("%s:1:1: YAML parser failed", file)}
		}
	}()
	at := func(n *yaml.Node, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d:%d: ", file, n.Line, n.Column)+fmt.Sprintf(format, args...))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil // an empty file: every default
		}
		return []string{zones.YAMLSyntaxError(file, data, err).Error()}
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		at(&next, "a configuration file holds one YAML document; remove the extra \"---\"")
		return problems
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		at(root, "configuration: expected a mapping of keys (%s)", strings.Join(Keys(), ", "))
		return problems
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode {
			at(k, "configuration: keys must be plain words")
			continue
		}
		check, known := keys[k.Value]
		switch {
		case !known:
			at(k, "unknown key %s in configuration%s", zones.QuoteKey(k.Value), zones.Suggest(k.Value, Keys()))
			continue
		case seen[k.Value] > 0:
			at(k, "key %q is given twice (first at line %d)", k.Value, seen[k.Value])
			continue
		}
		seen[k.Value] = k.Line
		if v.Kind != yaml.ScalarNode {
			at(v, "%s: expected a single value", k.Value)
			continue
		}
		value := v.Value
		if v.Tag == "!!null" {
			value = ""
		}
		if msg := check(value); msg != "" {
			at(v, "%s: %s", k.Value, msg)
		}
	}
	return problems
}

// CheckEnv checks every ZONEWALL_* variable of environ.
func CheckEnv(environ []string) []string {
	var problems []string
	envNames := func() []string {
		var out []string
		for _, k := range Keys() {
			out = append(out, "ZONEWALL_"+strings.ToUpper(k))
		}
		return out
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "ZONEWALL_") {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, "ZONEWALL_"))
		if key == "config" {
			continue // the file itself (--config), read by the caller
		}
		check, known := keys[key]
		if !known {
			problems = append(problems, fmt.Sprintf("environment %s: unknown setting%s", clipQuote(name), zones.Suggest(name, envNames())))
			continue
		}
		if msg := check(value); msg != "" {
			problems = append(problems, fmt.Sprintf("environment %s: %s: %s", name, key, msg))
		}
	}
	return problems
}

// CheckValue checks the value of a known key; known is false for other keys.
func CheckValue(key, value string) (problem string, known bool) {
	c, ok := keys[key]
	if !ok {
		return "", false
	}
	return c(value), true
}
