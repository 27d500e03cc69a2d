package docker

import (
	"net/netip"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/zonewall/zonewall/enforcer"
)

// bridgeNameOption is the network option naming a bridge network's interface.
const bridgeNameOption = "com.docker.network.bridge.name"

// toNetwork converts a Docker network to the inventory's form.
func toNetwork(n network.Summary) enforcer.Network {
	out := enforcer.Network{
		ID:       n.ID,
		Name:     n.Name,
		Driver:   n.Driver,
		Internal: n.Internal,
		Default:  n.Name == "bridge" && n.Driver == "bridge",
	}
	if n.Driver == "bridge" {
		out.Bridge = bridgeName(n.ID, n.Options)
	}
	for _, c := range n.IPAM.Config {
		if p, err := netip.ParsePrefix(c.Subnet); err == nil {
			out.Subnets = append(out.Subnets, p.Masked())
		}
	}
	return out
}

// bridgeName is the host interface of a bridge network: the explicit option
// (docker0 for the default bridge), else Docker's br-<first 12 of the ID>.
func bridgeName(id string, options map[string]string) string {
	if name := options[bridgeNameOption]; name != "" {
		return name
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return "br-" + id
}

// toContainer converts a ContainerList entry; endpoints are left to the
// caller, which knows the networks' bridges.
func toContainer(s container.Summary) enforcer.Container {
	c := enforcer.Container{
		ID:          s.ID,
		Image:       s.Image,
		Labels:      copyLabels(s.Labels),
		NetworkMode: s.HostConfig.NetworkMode,
		Running:     s.State == container.StateRunning || s.State == container.StatePaused || s.State == container.StateRestarting,
		Ports:       toPorts(s.Ports),
	}
	if len(s.Names) > 0 {
		c.Name = strings.TrimPrefix(s.Names[0], "/")
	}
	return c
}

// toPorts keeps the ports that are actually published on the host.
func toPorts(ps []container.Port) []enforcer.PublishedPort {
	var out []enforcer.PublishedPort
	for _, p := range ps {
		if p.PublicPort == 0 {
			continue
		}
		hostIP, err := netip.ParseAddr(p.IP)
		if err != nil {
			hostIP = netip.IPv4Unspecified()
		}
		out = append(out, enforcer.PublishedPort{
			HostIP: hostIP, HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Proto: p.Type,
		})
	}
	return out
}

// endpointFromResource converts a network's view of one attachment, whose
// addresses carry a prefix length ("10.1.0.2/24").
func endpointFromResource(n enforcer.Network, r network.EndpointResource) enforcer.Endpoint {
	ep := enforcer.Endpoint{NetworkID: n.ID, NetworkName: n.Name, Bridge: n.Bridge, EndpointID: r.EndpointID, MAC: strings.ToLower(r.MacAddress)}
	ep.IPv4 = addrOfPrefix(r.IPv4Address)
	ep.IPv6 = addrOfPrefix(r.IPv6Address)
	return ep
}

func addrOfPrefix(s string) netip.Addr {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr()
	}
	a, _ := netip.ParseAddr(s)
	return a
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
