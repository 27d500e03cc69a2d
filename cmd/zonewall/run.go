package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/docker/docker/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/enforcer/daemon"
	"github.com/zonewall/zonewall/enforcer/dnsproxy"
	"github.com/zonewall/zonewall/enforcer/docker"
	"github.com/zonewall/zonewall/enforcer/metrics"
	"github.com/zonewall/zonewall/enforcer/nflog"
	"github.com/zonewall/zonewall/enforcer/nft"
	"github.com/zonewall/zonewall/enforcer/state"
	"github.com/zonewall/zonewall/zones"
)

func init() {
	registerCommand(func(a *app) *cobra.Command {
		cmd := &cobra.Command{
			Use:   "run",
			Short: "The daemon: enforce the policy, follow Docker and the zone files, serve the control socket",
			Long: "Enforce the zone files in zones_dir on the containers Docker runs now and later.\n" +
				"SIGHUP reloads the zone files (they are also watched). SIGTERM stops the daemon\n" +
				"but leaves the ruleset in the kernel, so enforcement continues across restarts.",
			Args: noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg := a.config()
				log, err := newLogger(cmd.ErrOrStderr(), cfg.LogFormat, cfg.LogLevel, stderrIsJournal())
				if err != nil {
					return &usageError{err}
				}
				if err := runDaemon(cmd.Context(), cfg, log); err != nil {
					log.Error("zonewall run failed", "err", err)
					return &exitError{code: exitFailure, msg: "zonewall: " + err.Error()}
				}
				return nil
			},
		}
		addDaemonFlags(cmd.Flags())
		return cmd
	})
}

// runDaemon connects to the real world (Docker, nftables, NFLOG, systemd)
// and runs the daemon until SIGTERM/SIGINT.
func runDaemon(parent context.Context, cfg config, log *slog.Logger) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	parts, closeParts, err := openParts(cfg, log)
	if err != nil {
		return err
	}
	defer closeParts()
	return runWith(ctx, cfg, log, parts)
}

// openParts opens the real parts; CLI tests replace it with fakes.
var openParts = openRealParts

func openRealParts(cfg config, log *slog.Logger) (daemonParts, func(), error) {
	cli, err := dockerClient(cfg.DockerHost)
	if err != nil {
		return daemonParts{}, nil, err
	}
	applier, err := nft.New(nft.WithLogger(log))
	if err != nil {
		cli.Close()
		return daemonParts{}, nil, err
	}
	// Close only releases the netlink socket: our tables stay in the kernel.
	closeAll := func() { applier.Close(); cli.Close() }
	tracker := docker.NewTracker(cli, log)
	return daemonParts{
		Compile:         daemon.CompileFunc(enforcer.Options{NflogGroup: cfg.NflogGroup}),
		Kernel:          daemon.NFTKernel{A: applier},
		Inventory:       tracker,
		RunInventory:    tracker.Run,
		Stopper:         daemon.DockerStopper{CLI: cli},
		DockerEngine:    func(ctx context.Context) (control.DockerEngine, error) { return dockerEngine(ctx, cli) },
		Notify:          daemon.SystemdNotifier{Log: log},
		DenyCounters:    applier.Counters,
		FlowCounters:    allowedFlows(applier.AllowCounters),
		BridgeNetfilter: daemon.BridgeNetfilter(log),
		ConnEvents:      openConnEvents,
		DockerUp:        dockerPing(cli),
		StartDrops: func(ctx context.Context, d *daemon.Daemon, m *metrics.Metrics) {
			startDropReader(ctx, cfg.NflogGroup, d, m, log)
		},
		NewNames: namesParts(cfg, log),
	}, closeAll, nil
}

// allowedFlows reports the allow sets' per-element counters as allowed
// traffic per zone pair and flow. Before the first apply there is nothing
// to count: no samples rather than a failed scrape.
func allowedFlows(read func() ([]nft.AllowSample, error)) metrics.CounterSource {
	return func() ([]metrics.CounterSample, error) {
		samples, err := read()
		if errors.Is(err, nft.ErrNotApplied) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out := make([]metrics.CounterSample, len(samples))
		for i, s := range samples {
			out[i] = metrics.CounterSample{From: s.From, To: s.To, Flow: s.Flow, Verdict: metrics.VerdictAllow,
				Packets: s.Packets, Bytes: s.Bytes}
		}
		return out, nil
	}
}

// daemonParts are the outside world the daemon is connected to; runDaemon
// passes the real ones, tests pass fakes.
type daemonParts struct {
	Compile         func(*zones.Policy, enforcer.Inventory) (daemon.Ruleset, []control.Finding)
	Kernel          daemon.Kernel
	Inventory       daemon.Inventory
	RunInventory    func(ctx context.Context, changed func()) error // follows Docker until ctx ends
	Stopper         daemon.ContainerStopper
	Notify          daemon.Notifier
	DenyCounters    metrics.DenyCounterSource                                       // nil: no zonewall_denied_packets_total
	FlowCounters    metrics.CounterSource                                           // nil: no zonewall_flow_*
	BridgeNetfilter func() (string, error)                                          // nil: not checked
	DockerEngine    func(context.Context) (control.DockerEngine, error)             // nil: not in audit
	DockerUp        metrics.HealthSource                                            // nil: no zonewall_docker_up
	StartDrops      func(ctx context.Context, d *daemon.Daemon, m *metrics.Metrics) // nil: no drop log
	ConnEvents      func() (daemon.ConnReader, error)                               // nil: audit mode observes drops only
	// NewNames sets up egress by name (nil: off); serve runs the forwarder.
	NewNames func(source dnsproxy.Resolver) (names daemon.Names, serve func(context.Context), err error)
}

// runWith wires state, metrics, the control socket and the daemon, and
// runs until ctx ends.
func runWith(ctx context.Context, cfg config, log *slog.Logger, parts daemonParts) error {
	store, err := state.Open(cfg.StateDir)
	if err != nil {
		return err
	}
	unlock, err := store.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	bi := buildInfo()
	m := metrics.New(nil, metrics.BuildInfo{Version: bi.Version, Revision: bi.Commit, GoVersion: bi.GoVersion})
	if parts.DenyCounters != nil {
		m.SetDenyCounterSource(parts.DenyCounters)
	}
	if parts.FlowCounters != nil {
		m.SetCounterSource(parts.FlowCounters)
	}

	var d *daemon.Daemon
	var names daemon.Names
	var serveNames func(context.Context)
	if parts.NewNames != nil {
		var n daemon.Names
		n, serveNames, err = parts.NewNames(func(a netip.Addr) (string, bool) {
			if d == nil {
				return "", false
			}
			return d.ZoneOfAddr(a)
		})
		if err != nil {
			return err
		}
		if n != nil {
			names = n // a typed nil would read as "on"
		}
	}
	if ns, ok := names.(*daemon.DNSNames); ok {
		m.SetNameSource(ns.Samples)
	}
	d, err = daemon.New(daemon.Config{
		Names:           names,
		ZonesDir:        cfg.ZonesDir,
		Engine:          daemon.PolicyEngine{CompileFunc: parts.Compile},
		Kernel:          parts.Kernel,
		Inventory:       parts.Inventory,
		Log:             log,
		Store:           store,
		Stopper:         parts.Stopper,
		Notify:          parts.Notify,
		Metrics:         m,
		BridgeNetfilter: parts.BridgeNetfilter,
		DockerEngine:    parts.DockerEngine,
		WatchZonesDir:   true,
		ConnEvents:      parts.ConnEvents,
		DropRecords:     dropRecorder(cfg, log),
	})
	if err != nil {
		return err
	}
	m.SetHealthSources(parts.DockerUp, func() bool { return policyValid(d.Status().Policy) })
	srv, err := control.Listen(cfg.Socket, d, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	go func() {
		if err := srv.Serve(); err != nil {
			log.Error("control socket stopped", "err", err)
		}
	}()

	go func() {
		if err := parts.RunInventory(ctx, d.Changed); err != nil {
			log.Error("docker tracker stopped", "err", err)
		}
	}()
	if parts.StartDrops != nil {
		parts.StartDrops(ctx, d, m)
	}
	if serveNames != nil {
		go serveNames(ctx)
	}
	if cfg.MetricsListen != "" {
		serveMetrics(ctx, cfg.MetricsListen, m, log)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the zone files")
				d.Reload()
			}
		}
	}()

	log.Info("zonewall starting", "version", version, "zones_dir", cfg.ZonesDir, "socket", cfg.Socket, "state_dir", cfg.StateDir)
	return d.Run(ctx)
}

// dockerPing asks the Docker Engine API whether it answers (at scrape time).
func dockerPing(cli *client.Client) metrics.HealthSource {
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := cli.Ping(ctx)
		return err == nil
	}
}

// policyValid: the zone files as they are now are the policy enforced
// (not a last valid one kept from state or from before a rejected reload).
func policyValid(p control.PolicyStatus) bool {
	return p.Source == "zones_dir" && p.LastError == nil
}

// dropRecorder is where drop records go: the journal, with a field per
// attribute, when systemd runs us; else the log; nothing with log_drops off.
func dropRecorder(cfg config, log *slog.Logger) daemon.DropRecorder {
	switch {
	case !cfg.LogDrops:
		return nil
	case stderrIsJournal() && daemon.JournalAvailable():
		return daemon.JournalDrops{}
	}
	return daemon.LogDrops{Log: log}
}

// serveMetrics binds metrics_listen before returning, so the address it
// logs is the real one (with port 0, the one the kernel chose). A bind
// failure is logged, not fatal: enforcement matters more than metrics.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("metrics are not served", "metrics_listen", addr, "err", err)
		return
	}
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	go func() {
		if err := m.Serve(ctx, ln); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
}

func dockerClient(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// startDropReader reads NFLOG drops into the daemon. Without it enforcement
// still works; only `zonewall drops` stays empty, so a failure is logged.
func startDropReader(ctx context.Context, group uint16, d *daemon.Daemon, m *metrics.Metrics, log *slog.Logger) {
	r, err := nflog.Open(group, nflog.Options{Logger: log})
	if err != nil {
		log.Error("drops are not recorded: cannot read the NFLOG group", "group", group, "err", err)
		return
	}
	go func() {
		<-ctx.Done()
		r.Close()
	}()
	go func() {
		if err := daemon.ReadDrops(ctx, r, d); err != nil {
			log.Error("drop reader stopped", "err", err)
		}
	}()
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.SetNFLOGLoss(r.Lost(), r.Overruns())
			}
		}
	}()
}

// daemonDefaults are the defaults of the daemon's settings (spec section 3)
// that are flags of `run` only; other commands read them from the config
// file or the environment, and need the same defaults.
var daemonDefaults = map[string]any{
	"docker_host":    "",
	"metrics_listen": "",
	"log_format":     "text",
	"log_level":      "info",
	"nflog_group":    7001,
	"log_drops":      true,
	"dns_port":       53530,
	"dns_upstreams":  "",
}

// addDockerFlags adds the flags of commands that read Docker's containers
// and compile for them (run, plan).
func addDockerFlags(f *pflag.FlagSet) {
	f.String("docker-host", "", "Docker Engine API address (default: DOCKER_HOST or the local socket)")
	f.Uint16("nflog-group", 7001, "netfilter log group used for drops")
}

// addDaemonFlags adds the flags only `run` has.
func addDaemonFlags(f *pflag.FlagSet) {
	addDockerFlags(f)
	f.String("metrics-listen", "", "Prometheus metrics address, e.g. 127.0.0.1:9477 (empty: off)")
	f.String("log-format", "text", "log format: text or json")
	f.String("log-level", "info", "log level: debug, info, warn, error")
	f.Bool("log-drops", true, "record each drop in the journal (or the log outside systemd), rate limited")
	f.Uint16("dns-port", 53530, "port of the DNS forwarder for domain flows (containers' DNS is redirected to it); 0: off")
	f.StringSlice("dns-upstreams", nil, "resolvers the DNS forwarder asks, host:port (default: the nameservers of /etc/resolv.conf)")
}

// dockerEngine describes the Docker Engine for `zonewall audit`.
func dockerEngine(ctx context.Context, cli *client.Client) (control.DockerEngine, error) {
	e, err := docker.ReadEngineInfo(ctx, cli)
	if err != nil {
		return control.DockerEngine{}, err
	}
	support, detail := e.Support()
	return control.DockerEngine{Version: e.Version, APIVersion: e.APIVersion, FirewallBackend: e.FirewallBackend,
		Support: string(support), Detail: detail}, nil
}
