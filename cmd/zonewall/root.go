package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// config is the daemon configuration of spec section 3, resolved from the
// config file, ZONEWALL_* environment variables and flags (in that order of
// increasing precedence).
type config struct {
	ZonesDir      string
	DockerHost    string
	Socket        string
	StateDir      string
	MetricsListen string
	LogFormat     string
	LogLevel      string
	NflogGroup    uint16
	DNSPort       uint16   // egress by name: the DNS forwarder's port; 0 turns it off
	DNSUpstreams  []string // resolvers the forwarder asks; default: /etc/resolv.conf's
}

// app holds what every command shares.
type app struct {
	v          *viper.Viper
	configFile string
}

func newRootCommand() *cobra.Command {
	a := &app{v: viper.New()}
	root := &cobra.Command{
		Use:           "zonewall",
		Short:         "Deny-by-default network isolation between Docker containers, by trust zone",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.loadConfig(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	f := root.PersistentFlags()
	f.StringVar(&a.configFile, "config", "/etc/zonewall/zonewall.yaml", "configuration file")
	f.String("zones-dir", "/etc/zonewall/zones.d", "directory of zone files")
	f.String("docker-host", "", "Docker Engine API address (default: DOCKER_HOST or the local socket)")
	f.String("socket", "/run/zonewall/zonewall.sock", "control socket of the daemon")
	f.String("state-dir", "/var/lib/zonewall", "where the last valid policy and ruleset are kept")
	f.String("metrics-listen", "", "Prometheus metrics address, e.g. 127.0.0.1:9477 (empty: off)")
	f.String("log-format", "text", "log format: text or json")
	f.String("log-level", "info", "log level: debug, info, warn, error")
	f.Uint16("nflog-group", 7001, "netfilter log group used for drops")
	f.Uint16("dns-port", 53530, "port of the DNS forwarder for domain flows (containers' DNS is redirected to it); 0: off")
	f.StringSlice("dns-upstreams", nil, "resolvers the DNS forwarder asks, host:port (default: the nameservers of /etc/resolv.conf)")

	for _, c := range commands(a) {
		root.AddCommand(c)
	}
	return root
}

// commands lists every subcommand; each lives in its own file.
func commands(a *app) []*cobra.Command {
	var cs []*cobra.Command
	for _, mk := range commandFactories {
		cs = append(cs, mk(a))
	}
	return cs
}

// commandFactories is filled by each command's file in an init function, so
// that adding a command touches only its own file.
var commandFactories []func(*app) *cobra.Command

func registerCommand(mk func(*app) *cobra.Command) { commandFactories = append(commandFactories, mk) }

func (a *app) loadConfig(cmd *cobra.Command) error {
	v := a.v
	v.SetEnvPrefix("ZONEWALL")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	var bindErr error
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if fl.Name == "config" || fl.Name == "help" {
			return
		}
		key := strings.ReplaceAll(fl.Name, "-", "_")
		if err := v.BindPFlag(key, fl); err != nil && bindErr == nil {
			bindErr = err
		}
	})
	if bindErr != nil {
		return bindErr
	}
	v.SetConfigFile(a.configFile)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		// A missing default config file is fine; a named one must exist.
		if cmd.Flags().Changed("config") || !isNotExist(err) {
			return fmt.Errorf("config %s: %w", a.configFile, err)
		}
	}
	return nil
}

// config returns the resolved configuration.
func (a *app) config() config {
	v := a.v
	return config{
		ZonesDir:      v.GetString("zones_dir"),
		DockerHost:    v.GetString("docker_host"),
		Socket:        v.GetString("socket"),
		StateDir:      v.GetString("state_dir"),
		MetricsListen: v.GetString("metrics_listen"),
		LogFormat:     v.GetString("log_format"),
		LogLevel:      v.GetString("log_level"),
		NflogGroup:    uint16(v.GetUint("nflog_group")),
		DNSPort:       uint16(v.GetUint("dns_port")),
		DNSUpstreams:  v.GetStringSlice("dns_upstreams"),
	}
}
