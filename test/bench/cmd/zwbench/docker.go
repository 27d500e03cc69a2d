package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Scenarios 3 and 4: zonewall run against the real Docker daemon.

type dockerConfig struct {
	Zonewall       string
	Running        int // containers running while first connections are measured
	Starts         int // measured starts of a zoned container
	BaselineStarts int // the same starts with no firewall of ours
	UnzonedStarts  int // starts of an unzoned container (must never connect)
	Burst          int // containers started at once
	DaemonRunning  int // containers running for the daemon's RSS/CPU and sync time
	IdleSeconds    float64
	Never          time.Duration // bound for "never"
	StartupTimeout time.Duration
}

func fullDockerConfig() dockerConfig {
	return dockerConfig{Running: 200, Starts: 100, BaselineStarts: 50, UnzonedStarts: 5, Burst: 100, DaemonRunning: 500,
		IdleSeconds: 5, Never: 2 * time.Second, StartupTimeout: 60 * time.Second}
}

func quickDockerConfig() dockerConfig {
	return dockerConfig{Running: 20, Starts: 5, BaselineStarts: 3, UnzonedStarts: 1, Burst: 10, DaemonRunning: 30,
		IdleSeconds: 1, Never: 2 * time.Second, StartupTimeout: 30 * time.Second}
}

// benchZones is the policy of the Docker scenarios.
const benchZones = `zones:
  client:
    members: [{label: "zwb-role=client"}]
  server:
    members: [{label: "zwb-role=server"}]
  filler:
    members: [{label: "zwb-role=filler"}]
flows:
  - name: client-to-server
    from: client
    to: server
    ports: [tcp/8080]
  - name: filler-to-server
    from: filler
    to: server
    ports: [tcp/8080]
`

var errSkip = errors.New("skipped")

func benchDocker(ctx context.Context, r *Report, log *slog.Logger, cfg dockerConfig, tmp string) {
	if reason := dockerUnavailable(cfg.Zonewall); reason != "" {
		r.skip("docker", reason)
		r.skip("daemon", reason)
		return
	}
	var c cleanups
	defer c.run(log)
	if err := lockDocker(&c, log); err != nil {
		r.fail("docker", err)
		return
	}
	// Registered after the lock, so they run before it is released.
	c.add("host tables", deleteHostTables)
	if err := deleteHostTables(); err != nil {
		r.fail("docker", err)
		return
	}
	env, err := newDockerEnv(ctx, &c, tmp)
	if err != nil {
		r.fail("docker", err)
		return
	}
	b := &dockerBench{ctx: ctx, r: r, log: log, cfg: cfg, env: env, dir: filepath.Join(tmp, "daemon")}
	c.add("daemon", func() error { return b.daemon.stop() })
	if err := b.run(); err != nil && !errors.Is(err, errSkip) {
		r.fail("docker", err)
	}
}

// dockerUnavailable says why the Docker scenarios cannot run, or "".
func dockerUnavailable(bin string) string {
	if err := exec.Command("docker", "info").Run(); err != nil {
		return "Docker daemon not reachable"
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Sprintf("zonewall binary %s not built", bin)
	}
	if err := exec.Command(bin, "run", "--help").Run(); err != nil {
		return "`zonewall run` not available yet"
	}
	if err := exec.Command(bin, "status", "--help").Run(); err != nil {
		return "`zonewall status` not available yet"
	}
	return ""
}

type dockerBench struct {
	ctx    context.Context
	r      *Report
	log    *slog.Logger
	cfg    dockerConfig
	env    *dockerEnv
	dir    string
	daemon *zwDaemon
}

func fillerName(i int) string { return fmt.Sprintf("zwtest-b-f%03d", i) }

func (b *dockerBench) run() error {
	if err := os.MkdirAll(filepath.Join(b.dir, "zones.d"), 0o755); err != nil {
		return err
	}
	zonesDir := filepath.Join(b.dir, "zones.d")
	if err := os.WriteFile(filepath.Join(zonesDir, "bench.yaml"), []byte(benchZones), 0o644); err != nil {
		return err
	}
	if err := b.env.runContainer("zwtest-b-server", map[string]string{"zwb-role": "server"}, serverIP,
		"/bin/nc", "-ll", "-p", fmt.Sprint(serverPort), "-e", "/bin/true"); err != nil {
		return err
	}
	b.log.Info("starting filler containers", "count", b.cfg.Running)
	filler := map[string]string{"zwb-role": "filler"}
	if err := b.env.runMany(0, b.cfg.Running, 8, fillerName, filler, "/bin/sleep", "86400"); err != nil {
		return err
	}

	// Baseline: the same starts with no firewall of ours, before the daemon runs.
	base, err := b.firstConnections("zwtest-b-base", b.cfg.BaselineStarts, true)
	if err != nil {
		return fmt.Errorf("baseline starts: %w", err)
	}

	if err := b.startDaemon(); err != nil {
		return err
	}
	syncSmall, err := b.waitSynced(b.cfg.Running + 1)
	if err != nil {
		return err
	}
	zw, err := b.firstConnections("zwtest-b-zoned", b.cfg.Starts, true)
	if err != nil {
		return fmt.Errorf("zoned starts: %w", err)
	}
	unzoned, err := b.firstConnections("zwtest-b-unzoned", b.cfg.UnzonedStarts, false)
	if err != nil {
		return fmt.Errorf("unzoned starts: %w", err)
	}
	b.reportFirstConnection(base, zw, unzoned, syncSmall)
	if b.ctx.Err() != nil {
		return b.ctx.Err()
	}
	return b.daemonFigures(filler, zonesDir)
}

// daemonFigures: grow to DaemonRunning containers, restart the daemon and
// time its sync, then idle and burst resource use and the burst's applies.
func (b *dockerBench) daemonFigures(filler map[string]string, zonesDir string) error {
	b.log.Info("growing to the daemon scenario size", "count", b.cfg.DaemonRunning)
	if err := b.env.runMany(b.cfg.Running, b.cfg.DaemonRunning, 8, fillerName, filler, "/bin/sleep", "86400"); err != nil {
		return err
	}
	if err := b.daemon.stop(); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	syncTime, err := b.waitSynced(b.cfg.DaemonRunning + 1)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // let start-up work settle before "idle"
	idle := startSampler(b.daemon.pid())
	time.Sleep(time.Duration(b.cfg.IdleSeconds * float64(time.Second)))
	idleCPU, idleRSS := idle.finish()

	before, err := b.daemon.status()
	if err != nil {
		return err
	}
	burstName := func(i int) string { return fmt.Sprintf("zwtest-b-burst%03d", i) }
	busy := startSampler(b.daemon.pid())
	t0 := time.Now()
	if err := b.env.runMany(0, b.cfg.Burst, 8, burstName, filler, "/bin/sleep", "86400"); err != nil {
		return err
	}
	want := b.cfg.DaemonRunning + b.cfg.Burst
	after, _, err := b.daemon.waitFor(30*time.Second, func(s *zwStatus) bool { return s.members("filler") >= want })
	if err != nil {
		return fmt.Errorf("burst not reflected: %w", err)
	}
	burstSecs := time.Since(t0).Seconds()
	time.Sleep(time.Second) // applies still pending after the last member appeared
	if s, err := b.daemon.status(); err == nil {
		after = s
	}
	busyCPU, busyRSS := busy.finish()
	applies := after.Applies - before.Applies

	n := b.cfg.DaemonRunning
	b.r.add(Figure{Scenario: "daemon", Name: fmt.Sprintf("daemon start to in-sync, %d containers", n), Unit: "ms", Better: "lower",
		Zonewall: sum(Summarize([]float64{syncTime})), Goal: goalBelow("start to in-sync with 500 < 1 s", syncTime, 1000),
		Info: map[string]any{"containers": n, "note": "one restart, polled every 20 ms through zonewall status --json"}})
	b.r.add(Figure{Scenario: "daemon", Name: fmt.Sprintf("RSS idle, %d containers", n), Unit: "MB", Better: "lower",
		Zonewall: sum(Summarize([]float64{idleRSS})), Goal: goalBelow("RSS < 40 MB", idleRSS, 40)})
	b.r.add(Figure{Scenario: "daemon", Name: fmt.Sprintf("CPU idle, %d containers", n), Unit: "% of a core", Better: "lower",
		Zonewall: sum(Summarize([]float64{idleCPU})), Info: map[string]any{"seconds": b.cfg.IdleSeconds}})
	b.r.add(Figure{Scenario: "daemon", Name: fmt.Sprintf("peak RSS during a burst of %d starts", b.cfg.Burst), Unit: "MB", Better: "lower",
		Zonewall: sum(Summarize([]float64{busyRSS})), Goal: goalBelow("RSS < 40 MB", busyRSS, 40)})
	b.r.add(Figure{Scenario: "daemon", Name: fmt.Sprintf("CPU during a burst of %d starts", b.cfg.Burst), Unit: "% of a core", Better: "lower",
		Zonewall: sum(Summarize([]float64{busyCPU})), Info: map[string]any{"burst_seconds": burstSecs}})
	b.r.add(Figure{Scenario: "docker", Name: fmt.Sprintf("applies during a burst of %d starts", b.cfg.Burst), Unit: "applies", Better: "lower",
		Zonewall: sum(Summarize([]float64{float64(applies)})), Baseline: sum(Summarize([]float64{float64(b.cfg.Burst)})),
		BaselineName: "one apply per event", Goal: &Goal{Text: "a handful (<= 10)", Met: applies <= 10},
		Info: map[string]any{"running": n, "burst_seconds": burstSecs}})
	return nil
}

func (b *dockerBench) startDaemon() error {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	d, err := startDaemon(b.log, b.cfg.Zonewall, filepath.Join(b.dir, "zones.d"), b.dir)
	if err != nil {
		return err
	}
	b.daemon = d
	return nil
}

// waitSynced waits until the daemon has read Docker and applied a ruleset
// holding `members` zoned containers; it returns ms since the daemon started.
func (b *dockerBench) waitSynced(members int) (float64, error) {
	_, at, err := b.daemon.waitFor(b.cfg.StartupTimeout, func(s *zwStatus) bool {
		zoned := s.members("filler") + s.members("server") + s.members("client")
		return s.Synced && s.LastApply != nil && s.LastApply.Error == "" && zoned >= members
	})
	if err != nil {
		return 0, fmt.Errorf("waiting for sync: %w (daemon log: %s)", err, tailFile(filepath.Join(b.dir, "daemon.log"), 1500))
	}
	return ms(at.Sub(b.daemon.started)), nil
}

func tailFile(path string, n int) string {
	bs, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(bs) > n {
		bs = bs[len(bs)-n:]
	}
	return string(bs)
}
