package docker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/system"
)

type fakeInfo struct {
	v       types.Version
	info    system.Info
	infoErr error
}

func (f fakeInfo) ServerVersion(context.Context) (types.Version, error) { return f.v, nil }
func (f fakeInfo) Info(context.Context) (system.Info, error)            { return f.info, f.infoErr }

func TestReadEngineInfo(t *testing.T) {
	ctx := context.Background()
	// Docker 20.10 reports no firewall backend: iptables was the only one.
	e, err := ReadEngineInfo(ctx, fakeInfo{v: types.Version{Version: "20.10.24+dfsg1", APIVersion: "1.41"}})
	if err != nil || e != (EngineInfo{Version: "20.10.24+dfsg1", APIVersion: "1.41", FirewallBackend: "iptables"}) {
		t.Fatalf("20.10: %+v, %v", e, err)
	}
	e, err = ReadEngineInfo(ctx, fakeInfo{v: types.Version{Version: "29.0.0", APIVersion: "1.52"},
		info: system.Info{FirewallBackend: &system.FirewallInfo{Driver: "nftables"}}})
	if err != nil || e.FirewallBackend != "nftables" || e.APIVersion != "1.52" {
		t.Fatalf("29: %+v, %v", e, err)
	}
	if _, err := ReadEngineInfo(ctx, fakeInfo{infoErr: errors.New("boom")}); err == nil || !strings.Contains(err.Error(), "docker info") {
		t.Fatalf("error = %v", err)
	}
}

func TestEngineSupport(t *testing.T) {
	for _, tc := range []struct {
		api, backend string
		want         Support
		detail       string
	}{
		{"1.41", "iptables", Tested, "Docker 20.10 (API 1.41) with the iptables backend"},
		{"1.52", "iptables", Tested, "Docker 29 (API 1.52) with the iptables backend"},
		{"1.56", "nftables", Tested, "Docker 29 (API 1.56) with the nftables backend"}, // what CI runs
		{"1.54", "nftables", Tested, "Docker 29 (API 1.54)"},
		{"1.41", "nftables", Untested, "tested: 20.10/iptables, 29/iptables, 29/nftables"}, // cannot happen, but must not claim "tested"
		{"1.51", "iptables", Untested, "not tested"},                                       // Docker 28
		{"1.52", "iptables+firewalld", Untested, "not tested"},
		{"1.42", "iptables", Untested, "not tested"}, // Docker 23
		{"1.57", "nftables", Untested, "not tested"},
		{"1.40", "iptables", Unsupported, "older than Docker 20.10"},
		{"0.9", "iptables", Unsupported, "older"},
		{"1.52", "ebpf", Unsupported, `firewall backend "ebpf"`},
		{"dev", "iptables", Untested, "not tested"},
	} {
		got, detail := EngineInfo{APIVersion: tc.api, FirewallBackend: tc.backend}.Support()
		if got != tc.want || !strings.Contains(detail, tc.detail) {
			t.Errorf("API %s, %s: %s (%s), want %s (%s)", tc.api, tc.backend, got, detail, tc.want, tc.detail)
		}
	}
}
