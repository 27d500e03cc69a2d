// Package docker keeps an enforcer.Inventory in step with a Docker Engine.
//
// A Tracker lists every network and container once, then follows Docker's
// event stream and the kernel's link notifications. Its speed matters: a new
// container's endpoint must be classified before the container's first packet,
// because the enforcer drops everything from a bridge port it does not know.
// So the Tracker never calls ContainerInspect on the hot path (Docker 20.10
// holds the container lock for the whole start): names, images and labels come
// from ContainerList (a lock-free view) and the create event; an endpoint's
// addresses and MAC come from NetworkInspect at the "network connect" event;
// the host-side veth comes from netlink by matching the peer's MAC.
package docker
