package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zonewall/zonewall/test/dockerlock"
)

// The Docker side of the benchmark: an image, a network with an explicit
// subnet and containers, all named zwtest-b-* and removed by name.
const (
	benchImage  = "zwtest-b/busybox:1"
	benchNet    = "zwtest-b-net"
	benchSubnet = "10.97.200.0/21"
	serverIP    = "10.97.200.10"
	serverPort  = 8080
	dockerLock  = "/tmp/zwtest-docker.lock"
)

// lockDocker takes the host-wide lock every test that programs the host's
// zonewall tables against the real Docker holds for its whole duration
// (unless a caller, flock(1) or test/e2e-docker, holds it for us).
func lockDocker(c *cleanups, log *slog.Logger) error {
	release, err := dockerlock.Acquire(dockerLock, func() { log.Info("waiting for the Docker lock", "path", dockerLock) })
	if err != nil {
		return err
	}
	c.add("docker lock", func() error { release(); return nil })
	return nil
}

// dockerEnv tracks what this run created in Docker.
type dockerEnv struct {
	ctx        context.Context // an interrupt stops starting more containers
	mu         sync.Mutex
	containers map[string]bool // names
}

// newDockerEnv makes the image and the network, removing leftovers of an
// interrupted run by name first.
func newDockerEnv(ctx context.Context, c *cleanups, tmp string) (*dockerEnv, error) {
	d := &dockerEnv{ctx: ctx, containers: map[string]bool{}}
	if err := d.removeLeftovers(); err != nil {
		return nil, err
	}
	if err := buildImage(tmp); err != nil {
		return nil, err
	}
	c.add("image "+benchImage, func() error { return run("docker", "rmi", "-f", benchImage) })
	if err := createNetwork(); err != nil {
		return nil, err
	}
	c.add("network "+benchNet, removeNetwork)
	c.add("containers", d.removeAll)
	return d, nil
}

func (d *dockerEnv) removeLeftovers() error {
	out, err := output("docker", "ps", "-aq", "--filter", "name=^zwtest-b-")
	if err != nil {
		return fmt.Errorf("docker ps: %w", err)
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if err := run("docker", append([]string{"rm", "-f"}, ids...)...); err != nil {
			return fmt.Errorf("remove leftover containers: %w", err)
		}
	}
	_ = exec.Command("docker", "network", "rm", benchNet).Run()
	return nil
}

// buildImage imports /bin/busybox as an image with the applets the
// container scripts use (as the field notes describe).
func buildImage(tmp string) error {
	root := filepath.Join(tmp, "image")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox (apt-get install busybox-static): %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"sh", "nc", "sleep", "true", "awk", "usleep", "adjtimex", "touch", "grep"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			return err
		}
	}
	cmd := exec.Command("sh", "-c", "tar -C \"$1\" -c . | docker import - \"$2\"", "sh", root, benchImage)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import: %w: %s", err, out)
	}
	return nil
}

// runContainer starts a detached container on the bench network.
func (d *dockerEnv) runContainer(name string, labels map[string]string, ip string, cmd ...string) error {
	args := []string{"run", "-d", "--name", name, "--network", benchNet}
	if ip != "" {
		args = append(args, "--ip", ip)
	}
	for k, v := range labels {
		args = append(args, "--label", k+"="+v)
	}
	args = append(args, benchImage)
	args = append(args, cmd...)
	d.mu.Lock()
	d.containers[name] = true
	d.mu.Unlock()
	if err := run("docker", args...); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	return nil
}

// runAttached runs a container on the bench network to its end and returns its output.
func (d *dockerEnv) runAttached(name string, labels map[string]string, cmd ...string) ([]byte, error) {
	args := []string{"run", "--name", name, "--network", benchNet}
	for k, v := range labels {
		args = append(args, "--label", k+"="+v)
	}
	args = append(append(args, benchImage), cmd...)
	d.mu.Lock()
	d.containers[name] = true
	d.mu.Unlock()
	out, err := output("docker", args...)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", name, err)
	}
	return out, nil
}

// runMany starts containers name(i) for i in [from, to) with `workers` in parallel.
func (d *dockerEnv) runMany(from, to, workers int, name func(int) string, labels map[string]string, cmd ...string) error {
	jobs := make(chan int)
	errs := make(chan error, to-from)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				errs <- d.runContainer(name(i), labels, "", cmd...)
			}
		}()
	}
	for i := from; i < to && d.ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return d.ctx.Err()
}

// remove deletes containers by name.
func (d *dockerEnv) remove(names ...string) error {
	if len(names) == 0 {
		return nil
	}
	out, err := output("docker", append([]string{"rm", "-f"}, names...)...)
	if err != nil && !strings.Contains(err.Error(), "No such container") {
		return fmt.Errorf("docker rm: %w (%s)", err, out)
	}
	d.mu.Lock()
	for _, n := range names {
		delete(d.containers, n)
	}
	d.mu.Unlock()
	return nil
}

func (d *dockerEnv) removeAll() error {
	d.mu.Lock()
	var names []string
	for n := range d.containers {
		names = append(names, n)
	}
	d.mu.Unlock()
	// In batches, one after another: parallel removals left a stale endpoint
	// in Docker 20.10 that kept the network from being removed.
	for len(names) > 0 {
		k := min(50, len(names))
		if err := d.remove(names[:k]...); err != nil {
			return err
		}
		names = names[k:]
	}
	return nil
}

// createNetwork makes the bench network. Docker 20.10 sometimes keeps a
// stale endpoint after its containers are gone, and then refuses to remove
// the network until dockerd restarts; an empty leftover of ours with the
// same subnet is reused rather than failing every later run.
func createNetwork() error {
	err := run("docker", "network", "create", "--subnet", benchSubnet, benchNet)
	if err == nil {
		return nil
	}
	if !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("docker network: %w", err)
	}
	out, ierr := output("docker", "network", "inspect", benchNet, "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}} {{len .Containers}}")
	if ierr != nil || strings.TrimSpace(string(out)) != benchSubnet+" 0" {
		return fmt.Errorf("docker network %s exists and is not an empty leftover of ours (%q): %w", benchNet, out, err)
	}
	slog.Warn("reusing an empty leftover network Docker would not remove", "network", benchNet)
	return nil
}

// removeNetwork deletes the bench network, retrying while Docker still
// releases the endpoints of containers just removed.
func removeNetwork() error {
	var err error
	for try := 0; try < 5; try++ {
		if err = run("docker", "network", "rm", benchNet); err == nil || strings.Contains(err.Error(), "No such network") ||
			strings.Contains(err.Error(), "not found") {
			return nil
		}
		time.Sleep(time.Second)
	}
	return err
}
