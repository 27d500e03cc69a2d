package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/zonewall/zonewall/enforcer"
)

// Inventory reads the current inventory once (for `zonewall plan`). Veths
// are resolved when netlink is usable (root); otherwise left empty.
func Inventory(ctx context.Context, cli *client.Client) (enforcer.Inventory, error) {
	t := newTracker(cli, nil, nil)
	if p, err := newNetlinkPorts(DefaultNetNSDir); err == nil {
		t.ports = p
		defer p.Close()
	}
	if err := t.fullSync(ctx); err != nil {
		return enforcer.Inventory{}, fmt.Errorf("docker inventory: %w", err)
	}
	return t.Snapshot(), nil
}
