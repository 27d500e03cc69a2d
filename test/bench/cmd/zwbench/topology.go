package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/zonewall/zonewall/enforcer"
)

// The packet path: two fake containers (namespaces with eth0) plugged into
// a bridge in a router namespace with br_netfilter on, like two containers
// on one Docker network. Everything lives in namespaces this run creates.
const (
	routerNs   = "zwtest-b-pr"
	clientNs   = "zwtest-b-pc"
	serverNs   = "zwtest-b-ps"
	pathBridge = "zwtest-b-br0"
	// zonewall treats only "veth*" bridge ports as container ports (as
	// Docker names them), so these carry our prefix after "veth"; they live
	// only inside the router namespace and go away with it.
	clientVeth  = "vethzwtest-b1"
	serverVeth  = "vethzwtest-b2"
	allowedPort = synthPort // z00 -> z01 is a flow of the synthetic policy
	deniedPort  = 9090      // no flow allows it: proves the ruleset is in the path
)

var (
	pathSubnet = netip.MustParsePrefix("10.213.0.0/24")
	clientAddr = netip.MustParseAddr("10.213.0.2")
	serverAddr = netip.MustParseAddr("10.213.0.3")
	clientMAC  = "02:42:0a:d5:00:02"
	serverMAC  = "02:42:0a:d5:00:03"
)

type topology struct {
	router, client, server *netns
	routerFd               *os.File
}

func newTopology(c *cleanups) (*topology, error) {
	t := &topology{}
	var err error
	if t.router, err = newNetns(c, routerNs); err != nil {
		return nil, err
	}
	if t.client, err = newNetns(c, clientNs); err != nil {
		return nil, err
	}
	if t.server, err = newNetns(c, serverNs); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"ip", "-n", routerNs, "link", "add", pathBridge, "type", "bridge"},
		{"ip", "-n", routerNs, "link", "set", pathBridge, "up"},
	}
	for _, end := range []struct {
		ns, veth, mac string
		addr          netip.Addr
	}{{clientNs, clientVeth, clientMAC, clientAddr}, {serverNs, serverVeth, serverMAC, serverAddr}} {
		steps = append(steps,
			[]string{"ip", "-n", routerNs, "link", "add", end.veth, "type", "veth", "peer", "name", "eth0", "netns", end.ns},
			[]string{"ip", "-n", routerNs, "link", "set", end.veth, "master", pathBridge, "up"},
			[]string{"ip", "-n", end.ns, "link", "set", "eth0", "address", end.mac, "up"},
			[]string{"ip", "-n", end.ns, "addr", "add", netip.PrefixFrom(end.addr, pathSubnet.Bits()).String(), "dev", "eth0"},
		)
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return nil, fmt.Errorf("topology: %w", err)
		}
	}
	// br_netfilter hands bridged IPv4/IPv6 to the inet forward hook (per
	// namespace on this kernel). Short conntrack timeouts keep a
	// connection-rate run from filling the table (field notes).
	if err := t.router.run("sysctl", "-q", "-w",
		"net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1",
		"net.netfilter.nf_conntrack_tcp_timeout_time_wait=1", "net.netfilter.nf_conntrack_tcp_timeout_close=1",
		"net.netfilter.nf_conntrack_tcp_timeout_fin_wait=1", "net.netfilter.nf_conntrack_tcp_timeout_close_wait=1"); err != nil {
		return nil, fmt.Errorf("router sysctls: %w", err)
	}
	if t.routerFd, err = t.router.open(); err != nil {
		return nil, err
	}
	c.add("router fd", t.routerFd.Close)
	return t, nil
}

// inventory is the zonewall view of the path: the two fake containers (z00
// client, z01 server) among n-2 synthetic ones.
func (t *topology) inventory(n int) enforcer.Inventory {
	inv := synthInventory(n - 2)
	net := enforcer.Network{ID: fmt.Sprintf("%064x", 0xbee), Name: "zwtest-b-pnet", Driver: "bridge",
		Bridge: pathBridge, Subnets: []netip.Prefix{pathSubnet}}
	inv.Networks = append(inv.Networks, net)
	for i, end := range []struct {
		name, veth, mac, zone string
		addr                  netip.Addr
	}{{"zwtest-b-client", clientVeth, clientMAC, zoneName(0), clientAddr}, {"zwtest-b-server", serverVeth, serverMAC, zoneName(1), serverAddr}} {
		inv.Containers = append(inv.Containers, enforcer.Container{
			ID: fmt.Sprintf("%064x", 0xbee0+i), Name: end.name, Image: "zwtest/busybox:1",
			Labels: map[string]string{zoneLabel: end.zone}, NetworkMode: net.Name, Running: true,
			Endpoints: []enforcer.Endpoint{{NetworkID: net.ID, NetworkName: net.Name, EndpointID: fmt.Sprintf("%064x", 0xe0+i),
				Bridge: pathBridge, HostVeth: end.veth, MAC: end.mac, IPv4: end.addr}},
		})
	}
	return inv
}

// startServer runs `zwbench serve` in the server namespace until cleanup.
func (t *topology) startServer(c *cleanups, log *slog.Logger, port int) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own path: %w", err)
	}
	cmd := exec.Command("ip", "netns", "exec", serverNs, self, "serve", "-listen", fmt.Sprintf(":%d", port))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	pid := cmd.Process.Pid
	c.add(fmt.Sprintf("server pid %d", pid), func() error {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
		return nil
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan() && sc.Text() == "ready"
		for sc.Scan() {
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			return fmt.Errorf("server on port %d did not start", port)
		}
	case <-time.After(5 * time.Second):
		return fmt.Errorf("server on port %d: no ready within 5 s", port)
	}
	log.Debug("server started", "pid", pid, "port", port)
	return nil
}
