package docker

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/zonewall/zonewall/enforcer"
)

// Snapshots are shared and read-only: a change builds new values, so a
// snapshot handed out earlier keeps what it saw.
func TestSnapshotsAreNeverWrittenByTheTracker(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	before := tr.Snapshot()
	frozen := deepCopy(before)

	eng.addContainer(ctrAPI, "api-1", map[string]string{"tier": "api"}, container.StateCreated)
	eng.emit(ev(events.ContainerEventType, events.ActionCreate, ctrAPI, map[string]string{"name": "api-1"}))
	eng.relabel(ctrWeb, map[string]string{"tier": "front"})
	eng.disconnect(netFront, ctrWeb)
	eng.emit(ev(events.NetworkEventType, events.ActionDisconnect, netFront, map[string]string{"container": ctrWeb}))
	eng.emit(ev(events.ContainerEventType, events.ActionStart, ctrWeb, nil))
	waitFor(t, "changes seen", func() bool {
		w := findContainer(tr.Snapshot(), ctrWeb)
		return findContainer(tr.Snapshot(), ctrAPI) != nil && len(w.Endpoints) == 0 && w.Labels["tier"] == "front"
	})
	if !reflect.DeepEqual(before, frozen) {
		t.Fatalf("an earlier snapshot was written:\n got  %+v\n want %+v", before, frozen)
	}
}

// Revisions: a real change gives the container and the inventory new
// revisions; events that change nothing keep both; untouched containers
// keep their value (same Rev, same label map).
func TestSnapshotRevisions(t *testing.T) {
	eng, ports := fixture()
	eng.addContainer(ctrAPI, "api-1", map[string]string{"tier": "api"}, container.StateRunning)
	tr := syncedTracker(t, eng, ports) // events handled synchronously below
	inv0, rev0 := tr.SnapshotRev()
	web0, api0 := *findContainer(inv0, ctrWeb), *findContainer(inv0, ctrAPI)
	if rev0 == 0 || web0.Rev == 0 || api0.Rev == 0 || web0.Rev == api0.Rev {
		t.Fatalf("revisions unset or shared: inventory %d, web %d, api %d", rev0, web0.Rev, api0.Rev)
	}
	if _, again := tr.SnapshotRev(); again != rev0 {
		t.Fatalf("a second snapshot without events moved the revision %d -> %d", rev0, again)
	}

	// Events that change nothing: each container is listed again.
	tr.handle(t.Context(), ev(events.ContainerEventType, events.ActionStart, ctrWeb, nil))
	tr.handle(t.Context(), ev(events.ContainerEventType, events.ActionRename, ctrAPI, map[string]string{"name": "api-1"}))
	tr.handle(t.Context(), ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ctrWeb}))
	inv1, rev1 := tr.SnapshotRev()
	if rev1 != rev0 || findContainer(inv1, ctrWeb).Rev != web0.Rev || findContainer(inv1, ctrAPI).Rev != api0.Rev {
		t.Fatalf("no-op events moved revisions: inventory %d -> %d, web %d -> %d", rev0, rev1, web0.Rev, findContainer(inv1, ctrWeb).Rev)
	}

	// A label change of web: web and the inventory move, api keeps its value.
	eng.relabel(ctrWeb, map[string]string{"tier": "front"})
	tr.handle(t.Context(), ev(events.ContainerEventType, events.ActionStart, ctrWeb, nil))
	inv2, rev2 := tr.SnapshotRev()
	web2, api2 := findContainer(inv2, ctrWeb), findContainer(inv2, ctrAPI)
	if rev2 <= rev1 || web2.Rev <= web0.Rev || web2.Labels["tier"] != "front" {
		t.Fatalf("a real change kept revisions: inventory %d -> %d, web %d -> %d", rev1, rev2, web0.Rev, web2.Rev)
	}
	if api2.Rev != api0.Rev || reflect.ValueOf(api2.Labels).Pointer() != reflect.ValueOf(api0.Labels).Pointer() {
		t.Fatalf("an unchanged container was rebuilt: rev %d -> %d", api0.Rev, api2.Rev)
	}
	if !reflect.DeepEqual(withoutRevs(inv2), withoutRevs(fromScratch(t, eng, ports))) {
		t.Fatalf("incremental snapshot differs from a fresh tracker's:\n%+v", inv2)
	}
}

// syncedTracker is a tracker after its first listing, without Run: the
// test calls handle itself.
func syncedTracker(t *testing.T, eng *fakeEngine, ports *fakePorts) *Tracker {
	t.Helper()
	tr := newTracker(eng, nil, ports)
	if err := tr.fullSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return tr
}

// The incremental list equals a from-scratch build after adds, removes,
// renames and content changes, in any mix.
func TestSnapshotIncrementalEqualsFromScratch(t *testing.T) {
	eng, ports := fixture()
	tr := startTracker(t, eng, ports)
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i+1)
		eng.addContainer(ids[i], fmt.Sprintf("c-%02d", i), map[string]string{"i": fmt.Sprint(i)}, container.StateRunning)
		eng.emit(ev(events.ContainerEventType, events.ActionCreate, ids[i], nil))
	}
	waitFor(t, "creates", func() bool { return len(tr.Snapshot().Containers) == 13 })
	steps := []func(){
		func() { // rename to the front of the order
			eng.rename(ids[5], "a-first")
			eng.emit(ev(events.ContainerEventType, events.ActionRename, ids[5], map[string]string{"name": "a-first"}))
		},
		func() { // content change in place
			eng.setState(ids[7], container.StateExited)
			eng.emit(ev(events.ContainerEventType, events.ActionDie, ids[7], nil))
		},
		func() { // removal
			eng.removeContainer(ids[3])
			eng.emit(ev(events.ContainerEventType, events.ActionDestroy, ids[3], nil))
		},
		func() { // attachment
			eng.connect(netFront, ids[9], "ep-9", "02:42:0a:e7:01:09", "10.231.1.9/24", "")
			ports.set("br-aaaaaaaaaaaa", "02:42:0a:e7:01:09", "veth9")
			eng.emit(ev(events.NetworkEventType, events.ActionConnect, netFront, map[string]string{"container": ids[9]}))
		},
	}
	for i, step := range steps {
		_, before := tr.SnapshotRev()
		step()
		waitFor(t, fmt.Sprintf("step %d", i), func() bool { _, r := tr.SnapshotRev(); return r != before })
		got := tr.Snapshot()
		if want := fromScratch(t, eng, ports); !reflect.DeepEqual(withoutRevs(got), withoutRevs(want)) {
			t.Fatalf("step %d: incremental\n %+v\nfrom scratch\n %+v", i, got, want)
		}
		if !slices.IsSortedFunc(got.Containers, compareContainers) {
			t.Fatalf("step %d: not sorted", i)
		}
	}
}

// fromScratch lists the fake engine with a new tracker.
func fromScratch(t *testing.T, eng *fakeEngine, ports *fakePorts) enforcer.Inventory {
	t.Helper()
	return syncedTracker(t, eng, ports).Snapshot()
}

func withoutRevs(inv enforcer.Inventory) enforcer.Inventory {
	out := deepCopy(inv)
	for i := range out.Containers {
		out.Containers[i].Rev = 0
	}
	return out
}

func deepCopy(inv enforcer.Inventory) enforcer.Inventory {
	out := enforcer.Inventory{Networks: slices.Clone(inv.Networks), Containers: slices.Clone(inv.Containers)}
	for i := range out.Networks {
		out.Networks[i].Subnets = slices.Clone(out.Networks[i].Subnets)
	}
	for i := range out.Containers {
		c := &out.Containers[i]
		c.Labels, c.Endpoints, c.Ports = maps.Clone(c.Labels), slices.Clone(c.Endpoints), slices.Clone(c.Ports)
	}
	return out
}
