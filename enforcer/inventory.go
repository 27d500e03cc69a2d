// Package enforcer turns a Policy and the containers running now into the
// desired nftables ruleset (a pure function, see Compile) that enforcer/nft
// applies in one transaction.
package enforcer

import "net/netip"

// Inventory is everything zonewall knows about Docker at one instant. It is
// plain data so that compilation can be tested without Docker or root.
type Inventory struct {
	Networks   []Network
	Containers []Container
}

// Network is a Docker network.
type Network struct {
	ID       string
	Name     string
	Driver   string         // bridge, host, null, macvlan, ipvlan, overlay, ...
	Bridge   string         // host bridge interface for bridge networks (docker0, br-<id12>)
	Subnets  []netip.Prefix // IPAM subnets
	Internal bool
	Default  bool // Docker's default bridge network ("bridge" / docker0)
}

// Container is a Docker container with its network attachments.
type Container struct {
	ID          string
	Name        string // without leading slash
	Image       string
	Labels      map[string]string
	NetworkMode string // "default", "bridge", "host", "none", "container:<id>", or a network name
	Running     bool   // its process runs, or Docker is starting it (its network is attached)
	Endpoints   []Endpoint
	// Published ports: host port -> container port, for audit.
	Ports []PublishedPort
	// Rev is the container's revision in its inventory source: a source
	// that sets it gives every change of any field above a new nonzero
	// value, so that equal ID and nonzero Rev mean equal content (caches
	// skip comparing). Zero means unknown: compare everything.
	Rev uint64
}

// Endpoint is one attachment of a container to a network.
type Endpoint struct {
	NetworkID   string
	NetworkName string
	EndpointID  string     // Docker's endpoint ID; a new attachment gets a new one
	Bridge      string     // host bridge interface, "" if not a bridge network
	HostVeth    string     // host-side veth interface name (bridge port); "" if unknown yet
	MAC         string     // container-side MAC, "02:42:..."
	IPv4        netip.Addr // zero if none
	IPv6        netip.Addr // zero if none
}

// PublishedPort is one port Docker publishes on the host.
type PublishedPort struct {
	HostIP        netip.Addr // unspecified (0.0.0.0 / ::) means every interface
	HostPort      uint16
	ContainerPort uint16
	Proto         string // tcp | udp
}
