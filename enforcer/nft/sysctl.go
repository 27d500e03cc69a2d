package nft

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// bridgeSysctls make br_netfilter hand bridged IPv4/IPv6 traffic to the
// inet hooks; without them traffic between containers on one bridge
// bypasses our stateful forward chain.
var bridgeSysctls = []string{
	"/proc/sys/net/bridge/bridge-nf-call-iptables",
	"/proc/sys/net/bridge/bridge-nf-call-ip6tables",
}

// CheckBridgeNetfilter reads the bridge-nf-call sysctls of the caller's
// network namespace and sets any that is 0 to 1, logging each change.
// ok is true when both were already 1. An error means they could not be
// read or set (br_netfilter missing): container-to-container traffic on
// one bridge would then not be filtered.
func CheckBridgeNetfilter() (ok bool, err error) {
	ok = true
	for _, path := range bridgeSysctls {
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("%s missing: br_netfilter is not loaded: %w", path, err)
		}
		if err != nil {
			return false, fmt.Errorf("reading %s: %w", path, err)
		}
		if strings.TrimSpace(string(b)) == "1" {
			continue
		}
		ok = false
		if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
			return false, fmt.Errorf("setting %s to 1: %w", path, err)
		}
		slog.Warn("enabled bridge netfilter sysctl", "sysctl", path)
	}
	return ok, nil
}
