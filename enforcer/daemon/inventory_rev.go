package daemon

import (
	"reflect"

	"github.com/zonewall/zonewall/enforcer"
)

// snapshot reads the inventory and, when the source numbers its snapshots,
// its revision (0 otherwise).
func (d *Daemon) snapshot() (enforcer.Inventory, uint64) {
	if r, ok := d.cfg.Inventory.(RevisionedInventory); ok {
		return r.SnapshotRev()
	}
	return d.cfg.Inventory.Snapshot(), 0
}

// sameInventory reports whether inv (at rev) is the inventory of the last
// successful apply: by revision when both are known, else by content.
func (d *Daemon) sameInventory(inv enforcer.Inventory, rev uint64) bool {
	if rev != 0 && d.applied.rev != 0 {
		return rev == d.applied.rev
	}
	return reflect.DeepEqual(d.applied.inv, inv)
}
