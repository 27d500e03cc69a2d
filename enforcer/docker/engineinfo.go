package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"
)

// EngineInfo is what zonewall reports about the Docker Engine it follows.
type EngineInfo struct {
	Version    string // as the daemon reports it, e.g. "29.0.1", "20.10.24+dfsg1"
	APIVersion string // the daemon's newest API version, e.g. "1.52"
	// FirewallBackend is "iptables", "nftables" or "iptables+firewalld"
	// (Docker 28.2 and later report it; before, iptables was the only one).
	FirewallBackend string
}

// infoAPI is the slice of the Engine API EngineInfo needs; *client.Client
// implements it.
type infoAPI interface {
	ServerVersion(ctx context.Context) (types.Version, error)
	Info(ctx context.Context) (system.Info, error)
}

// ReadEngineInfo asks the Docker Engine for its version and firewall backend.
func ReadEngineInfo(ctx context.Context, api infoAPI) (EngineInfo, error) {
	v, err := api.ServerVersion(ctx)
	if err != nil {
		return EngineInfo{}, fmt.Errorf("docker version: %w", err)
	}
	info, err := api.Info(ctx)
	if err != nil {
		return EngineInfo{}, fmt.Errorf("docker info: %w", err)
	}
	e := EngineInfo{Version: v.Version, APIVersion: v.APIVersion, FirewallBackend: "iptables"}
	if info.FirewallBackend != nil && info.FirewallBackend.Driver != "" {
		e.FirewallBackend = info.FirewallBackend.Driver
	}
	return e, nil
}

// Support says how far zonewall has been proven against an engine.
type Support string

const (
	// Tested: CI runs the end-to-end suite against this Docker and backend.
	Tested Support = "tested"
	// Untested: new enough for everything zonewall uses (API 1.41), but
	// not run in CI; expected to work.
	Untested Support = "untested"
	// Unsupported: older than Docker 20.10 (API 1.41), or a firewall
	// backend zonewall does not know.
	Unsupported Support = "unsupported"
)

// minAPI is the oldest Engine API zonewall uses (Docker 20.10).
const minAPI = "1.41"

// testedEngines are the set-ups CI runs the end-to-end suite on
// (test/e2e-docker): the Engine API identifies the Docker release whatever
// its distribution calls its version ("20.10.24+dfsg1"; a moby build from
// source says "library-import"). Docker 29 releases speak API 1.52 to 1.56;
// CI runs moby v2.0.0-beta.24, API 1.56.
var testedEngines = []struct {
	minAPI, maxAPI, docker string
	backends               []string
}{
	{"1.41", "1.41", "20.10", []string{"iptables"}},
	{"1.52", "1.56", "29", []string{"iptables", "nftables"}},
}

// knownBackends are the firewall backends zonewall knows to coexist with:
// it owns its tables and decides at priority filter - 10 with either.
var knownBackends = []string{"iptables", "nftables", "iptables+firewalld"}

// Support classifies the engine and says why, in a sentence for operators.
func (e EngineInfo) Support() (Support, string) {
	known := false
	for _, b := range knownBackends {
		known = known || b == e.FirewallBackend
	}
	if !known {
		return Unsupported, fmt.Sprintf("firewall backend %q is unknown to zonewall (known: %s)", e.FirewallBackend, strings.Join(knownBackends, ", "))
	}
	if apiLess(e.APIVersion, minAPI) {
		return Unsupported, fmt.Sprintf("Engine API %s is older than Docker 20.10's %s, the oldest zonewall supports", e.APIVersion, minAPI)
	}
	var tested []string
	for _, t := range testedEngines {
		inRange := !apiLess(e.APIVersion, t.minAPI) && !apiLess(t.maxAPI, e.APIVersion) && validAPI(e.APIVersion)
		for _, b := range t.backends {
			if inRange && b == e.FirewallBackend {
				return Tested, fmt.Sprintf("Docker %s (API %s) with the %s backend is tested in zonewall's CI", t.docker, e.APIVersion, b)
			}
			tested = append(tested, fmt.Sprintf("%s/%s", t.docker, b))
		}
	}
	return Untested, fmt.Sprintf("expected to work, but not tested in zonewall's CI (tested: %s)", strings.Join(tested, ", "))
}

// apiLess compares two "major.minor" API versions; a version it cannot
// read is not less (the engine answered, so it speaks our API).
func apiLess(a, b string) bool {
	am, an, okA := splitAPI(a)
	bm, bn, okB := splitAPI(b)
	if !okA || !okB {
		return false
	}
	return am < bm || am == bm && an < bn
}

func validAPI(v string) bool {
	_, _, ok := splitAPI(v)
	return ok
}

func splitAPI(v string) (major, minor int, ok bool) {
	ma, mi, found := strings.Cut(v, ".")
	if !found {
		return 0, 0, false
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(ma)
	minor, err2 = strconv.Atoi(mi)
	return major, minor, err1 == nil && err2 == nil
}
