package docker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/zonewall/zonewall/enforcer"
)

// Real-Docker tests. Everything they create is named zwtest-e-trk*.
const (
	testImage   = "zwtest/busybox:1"
	testNet     = "zwtest-e-trk"
	testNet2    = "zwtest-e-trk2"
	testPrefix  = "zwtest-e-trk"
	startRounds = 10
)

// dockerClient returns a client for the local dockerd, skipping (or, with
// ZW_REQUIRE_PRIV=1, failing) when there is none or we are not root.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	miss := t.Skipf
	if os.Getenv("ZW_REQUIRE_PRIV") == "1" {
		miss = t.Fatalf
	}
	if os.Geteuid() != 0 {
		miss("needs root (netlink in Docker's sandboxes)")
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		miss("docker client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		miss("docker not reachable: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// ensureImage imports the busybox test image (field notes) if missing.
func ensureImage(t *testing.T) {
	t.Helper()
	if exec.Command("docker", "image", "inspect", testImage).Run() == nil {
		return
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", "/bin/busybox", bin)
	for _, a := range []string{"sh", "nc", "ping", "wget", "ip", "sleep", "httpd", "cat", "true"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			t.Fatal(err)
		}
	}
	run(t, "sh", "-c", fmt.Sprintf("tar -C %s -c . | docker import - %s", dir, testImage))
}

// removeTestObjects removes our containers and networks, by name.
func removeTestObjects() {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name=^"+testPrefix).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
	for _, n := range []string{testNet, testNet2} {
		_ = exec.Command("docker", "network", "rm", n).Run()
	}
}

func setupDocker(t *testing.T) *client.Client {
	cli := dockerClient(t)
	ensureImage(t)
	removeTestObjects()
	t.Cleanup(removeTestObjects)
	run(t, "docker", "network", "create", "--ipv6", "--subnet", "10.231.9.0/24", "--subnet", "fd00:231:9::/64", testNet)
	return cli
}

// runTracker starts a real Tracker; every change is reported on the channel.
func runTracker(t *testing.T, cli *client.Client) (*Tracker, <-chan time.Time) {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("ZW_DEBUG") != "" {
		level = slog.LevelDebug
	}
	tr := NewTracker(cli, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	changes := make(chan time.Time, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func() {
			select {
			case changes <- time.Now():
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "first sync", tr.Synced)
	return tr, changes
}

func byName(inv enforcer.Inventory, name string) *enforcer.Container {
	for i := range inv.Containers {
		if inv.Containers[i].Name == name {
			return &inv.Containers[i]
		}
	}
	return nil
}

func endpointOn(c *enforcer.Container, netName string) *enforcer.Endpoint {
	if c == nil {
		return nil
	}
	for i := range c.Endpoints {
		if c.Endpoints[i].NetworkName == netName {
			return &c.Endpoints[i]
		}
	}
	return nil
}

// checkVeth proves the veth is the container's: the peer index of the
// container's eth (iflink) is the veth's ifindex, and it is on the bridge.
func checkVeth(t *testing.T, name, iface string, ep *enforcer.Endpoint) {
	t.Helper()
	l, err := netlink.LinkByName(ep.HostVeth)
	if err != nil {
		t.Fatalf("veth %q of %s: %v", ep.HostVeth, name, err)
	}
	iflink := run(t, "docker", "exec", name, "cat", "/sys/class/net/"+iface+"/iflink")
	if strconv.Itoa(l.Attrs().Index) != iflink {
		t.Fatalf("%s: veth %s has index %d, the container's %s peers with %s", name, ep.HostVeth, l.Attrs().Index, iface, iflink)
	}
	br, err := netlink.LinkByIndex(l.Attrs().MasterIndex)
	if err != nil || br.Attrs().Name != ep.Bridge {
		t.Fatalf("%s: veth %s not on bridge %s (%v)", name, ep.HostVeth, ep.Bridge, err)
	}
	mac := run(t, "docker", "exec", name, "cat", "/sys/class/net/"+iface+"/address")
	if mac != ep.MAC {
		t.Fatalf("%s: MAC %s, inventory says %s", name, mac, ep.MAC)
	}
}

func TestRealDockerInventory(t *testing.T) {
	cli := setupDocker(t)
	ctx := context.Background()
	// One container before the tracker starts, one after.
	run(t, "docker", "run", "-d", "--name", testPrefix+"-old", "--label", "tier=db", "--network", testNet, "-p", "127.0.0.1:18431:5432", testImage, "sleep", "600")
	tr, _ := runTracker(t, cli)

	old := byName(tr.Snapshot(), testPrefix+"-old")
	ep := endpointOn(old, testNet)
	if old == nil || ep == nil || !old.Running || old.Labels["tier"] != "db" || old.Image != testImage {
		t.Fatalf("old container = %+v", old)
	}
	if !ep.IPv4.IsValid() || !ep.IPv6.IsValid() || ep.HostVeth == "" || ep.EndpointID == "" {
		t.Fatalf("old endpoint incomplete: %+v", ep)
	}
	checkVeth(t, old.Name, "eth0", ep)
	if len(old.Ports) != 1 || old.Ports[0].HostPort != 18431 || old.Ports[0].ContainerPort != 5432 || old.Ports[0].Proto != "tcp" {
		t.Fatalf("ports = %+v", old.Ports)
	}
	var n *enforcer.Network
	for i, x := range tr.Snapshot().Networks {
		if x.Name == testNet {
			n = &tr.Snapshot().Networks[i]
		}
	}
	if n == nil || n.Driver != "bridge" || len(n.Subnets) != 2 || n.Default || !strings.HasPrefix(n.Bridge, "br-") {
		t.Fatalf("network = %+v", n)
	}

	run(t, "docker", "run", "-d", "--name", testPrefix+"-new", "--label", "tier=api", "--network", testNet, testImage, "sleep", "600")
	waitFor(t, "new container classified", func() bool {
		e := endpointOn(byName(tr.Snapshot(), testPrefix+"-new"), testNet)
		return e != nil && e.HostVeth != ""
	})
	newc := byName(tr.Snapshot(), testPrefix+"-new")
	checkVeth(t, newc.Name, "eth0", endpointOn(newc, testNet))

	// Runtime connect and disconnect.
	run(t, "docker", "network", "create", "--subnet", "10.231.10.0/24", testNet2)
	run(t, "docker", "network", "connect", testNet2, testPrefix+"-new")
	waitFor(t, "second network's endpoint classified", func() bool {
		e := endpointOn(byName(tr.Snapshot(), testPrefix+"-new"), testNet2)
		return e != nil && e.HostVeth != ""
	})
	checkVeth(t, newc.Name, "eth1", endpointOn(byName(tr.Snapshot(), testPrefix+"-new"), testNet2))
	run(t, "docker", "network", "disconnect", testNet2, testPrefix+"-new")
	waitFor(t, "disconnect", func() bool { return endpointOn(byName(tr.Snapshot(), testPrefix+"-new"), testNet2) == nil })

	run(t, "docker", "rename", testPrefix+"-new", testPrefix+"-renamed")
	waitFor(t, "rename", func() bool { return byName(tr.Snapshot(), testPrefix+"-renamed") != nil })

	run(t, "docker", "rm", "-f", testPrefix+"-renamed")
	waitFor(t, "destroy", func() bool { return byName(tr.Snapshot(), testPrefix+"-renamed") == nil })

	// The one-shot inventory agrees with the tracker.
	inv, err := Inventory(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	if e := endpointOn(byName(inv, testPrefix+"-old"), testNet); e == nil || *e != *ep {
		t.Fatalf("one-shot endpoint = %+v, tracker's = %+v", e, ep)
	}

	// Default bridge and host network containers are listed with their mode.
	run(t, "docker", "run", "-d", "--name", testPrefix+"-dflt", testImage, "sleep", "600")
	run(t, "docker", "run", "-d", "--name", testPrefix+"-host", "--network", "host", testImage, "sleep", "600")
	waitFor(t, "default-bridge endpoint classified", func() bool {
		e := endpointOn(byName(tr.Snapshot(), testPrefix+"-dflt"), "bridge")
		return e != nil && e.HostVeth != "" && e.Bridge == "docker0"
	})
	waitFor(t, "host-network container", func() bool {
		c := byName(tr.Snapshot(), testPrefix+"-host")
		// Not asserting Running: a concurrent daemon test with
		// host_network: stop may stop it.
		return c != nil && c.NetworkMode == "host"
	})
	for _, x := range tr.Snapshot().Networks {
		if x.Name == "bridge" && (!x.Default || x.Bridge != "docker0") {
			t.Fatalf("default bridge = %+v", x)
		}
	}
}

// TestRealStartToClassified measures the time from `docker start` (the API
// call) to the moment the tracker knows the new endpoint's veth.
func TestRealStartToClassified(t *testing.T) {
	cli := setupDocker(t)
	ctx := context.Background()
	tr, changes := runTracker(t, cli)

	// Docker's own "network connect" events, to time the tracker's part.
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	connectAt := map[string]time.Time{}
	var connectMu sync.Mutex
	evs, _ := cli.Events(evCtx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", "network"), filters.Arg("event", "connect"))})
	go func() {
		for m := range evs {
			connectMu.Lock()
			connectAt[m.Actor.Attributes["container"]] = time.Unix(0, m.TimeNano)
			connectMu.Unlock()
		}
	}()

	var lat, lead, own []time.Duration
	for i := range startRounds {
		name := fmt.Sprintf("%s-lat%d", testPrefix, i)
		cr, err := cli.ContainerCreate(ctx, &container.Config{Image: testImage, Cmd: []string{"sh", "-c", startedCmd}, Labels: map[string]string{"tier": "lat"}},
			&container.HostConfig{NetworkMode: container.NetworkMode(testNet)}, &network.NetworkingConfig{}, nil, name)
		if err != nil {
			t.Fatal(err)
		}
		drain(changes)
		var once sync.Once
		t0 := time.Now()
		classified := make(chan time.Duration, 1)
		var firstVeth string
		var classifiedUp time.Duration
		go func() {
			for range changes {
				if e := endpointOn(findContainer(tr.Snapshot(), cr.ID), testNet); e != nil && e.HostVeth != "" {
					once.Do(func() { firstVeth = e.HostVeth; classifiedUp = uptime(t); classified <- time.Since(t0) })
					return
				}
			}
		}()
		if err := cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		startReturned := time.Since(t0)
		select {
		case d := <-classified:
			lat = append(lat, d)
			// The first (maybe provisional) veth is the one the running
			// container really uses.
			final := endpointOn(findContainer(tr.Snapshot(), cr.ID), testNet)
			if final.HostVeth != firstVeth {
				t.Fatalf("round %d: classified with %s, corrected to %s", i, firstVeth, final.HostVeth)
			}
			checkVeth(t, name, "eth0", final)
			// How long before the container's process started was it
			// classified? The process wrote the host's uptime when it ran
			// (State.StartedAt will not do: Docker 29 takes it before it
			// creates the task and sets up the network).
			ahead := processStarted(t, name) - classifiedUp
			lead = append(lead, ahead)
			connectMu.Lock()
			if at, ok := connectAt[cr.ID]; ok {
				own = append(own, t0.Add(d).Sub(at))
			}
			connectMu.Unlock()
			t.Logf("round %d: classified %v after docker start began, %v before the process started (start call took %v)", i, d, ahead, startReturned)
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: not classified within 5s", i)
		}
		_ = cli.ContainerRemove(ctx, cr.ID, container.RemoveOptions{Force: true})
	}
	slices.Sort(lat)
	slices.Sort(lead)
	slices.Sort(own)
	if len(own) > 0 {
		t.Logf("network connect event -> classified (the tracker's own latency): min %v, p50 %v, max %v", own[0], own[len(own)/2], own[len(own)-1])
	}
	t.Logf("classified ahead of the process start: min %v, p50 %v (10 ms resolution)", lead[0], lead[len(lead)/2])
	if lead[0] <= -10*time.Millisecond {
		t.Errorf("an endpoint was classified only after its process started (%v)", lead[0])
	}
	t.Logf("docker start -> endpoint classified over %d starts: p50 %v, p90 %v, max %v",
		len(lat), lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1])
}

func drain(c <-chan time.Time) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// startedCmd records, in /started, the host's uptime when the container's
// process began (/proc/uptime is not namespaced; 10 ms resolution).
const startedCmd = `read up rest </proc/uptime; echo $up >/started; exec sleep 600`

// uptime is the host's uptime (CLOCK_BOOTTIME, what /proc/uptime shows).
func uptime(t *testing.T) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		t.Error(err)
	}
	return time.Duration(ts.Nano())
}

// processStarted reads the uptime the container's process recorded.
func processStarted(t *testing.T, name string) time.Duration {
	t.Helper()
	var out string
	for range 50 {
		if o, err := exec.Command("docker", "exec", name, "cat", "/started").Output(); err == nil && len(o) > 1 {
			out = strings.TrimSpace(string(o))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	secs, err := strconv.ParseFloat(out, 64)
	if err != nil {
		t.Fatalf("%s: started at uptime %q: %v", name, out, err)
	}
	return time.Duration(secs * float64(time.Second))
}
