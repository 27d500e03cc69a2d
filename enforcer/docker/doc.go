// Package docker keeps an enforcer.Inventory in step with a Docker Engine.
//
// A Tracker lists every network and container once, then follows Docker's
// event stream and the kernel's link notifications. Its speed matters: a new
// container's endpoint must be classified before the container's first packet,
// because the enforcer drops everything from a bridge port it does not know.
//
// Where each fact comes from, and why:
//   - Names, images, labels, network mode, published ports: ContainerList, a
//     lock-free view. ContainerInspect is never called: Docker 20.10 holds the
//     container's lock for its whole start, so an inspect would wait for the
//     process to run.
//   - An endpoint's addresses and MAC: NetworkInspect at the "network connect"
//     event, which Docker emits before the container's process starts. The
//     inspect runs beside the event loop (its cost grows with the network's
//     containers); if Docker configures the endpoint in its sandbox first,
//     the kernel's view is taken meanwhile, bound to the container by the
//     cgroup of the process in the sandbox, and the inspect confirms or
//     overrides it (connect.go).
//   - The endpoint's host-side veth (the bridge port): netlink. At "network
//     connect" the veth's peer is still in the host namespace with a random
//     MAC (verified on Docker 20.10); Docker moves it into the container's
//     namespace and sets the endpoint's MAC in the container's prestart hook.
//     So when exactly one endpoint on a bridge is unresolved and exactly one
//     veth on it is unclaimed with its peer still in the host namespace, that
//     veth is taken at once (provisional); otherwise, and to confirm, the
//     peer's MAC is read through a handle bound to the sandbox namespace the
//     veth's link netnsid names (/var/run/docker/netns). Link notifications
//     and a short retry timer drive the lookups.
//   - Running: true from "network connect" on, since the process may send its
//     first packet before Docker's start event arrives.
//   - An endpoint announced without a known veth is withheld from snapshots
//     until its veth is found (at most DefaultVethGrace): the process cannot
//     run before that, and publishing the address alone would cost the
//     daemon a second kernel transaction per container in a burst.
//
// Snapshots are cheap and shared: each container's value is built once per
// change and never written again, and carries a revision (Container.Rev);
// SnapshotRev numbers the whole inventory, so the daemon compares numbers,
// not inventories. Everything a snapshot references is read-only.
//
// Losing the event stream (dockerd restarts) leads to a re-subscription from
// the last event seen and a full resync, retried with backoff; Synced stays
// true meanwhile, so the daemon keeps enforcing the last inventory.
package docker
