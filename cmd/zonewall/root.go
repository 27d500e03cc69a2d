package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	zwconfig "github.com/zonewall/zonewall/cmd/zonewall/internal/config"
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
	LogDrops      bool     // drop records to the journal (or the log)
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
	setVersionFlag(root)

	f := root.PersistentFlags()
	f.StringVar(&a.configFile, "config", "/etc/zonewall/zonewall.yaml", "configuration file")
	f.String("zones-dir", "/etc/zonewall/zones.d", "directory of zone files")
	f.String("socket", "/run/zonewall/zonewall.sock", "control socket of the daemon")
	f.String("state-dir", "/var/lib/zonewall", "where the last valid policy and ruleset are kept")
	// The daemon's own settings are flags of `run` (and of plan where it
	// needs them); the config file and environment reach every command.
	for key, def := range daemonDefaults {
		a.v.SetDefault(key, def)
	}

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
	problems := zwconfig.CheckEnv(os.Environ())
	named := cmd.Flags().Changed("config")
	if env, ok := os.LookupEnv("ZONEWALL_CONFIG"); ok && !named {
		a.configFile, named = env, true
	}
	data, err := zwconfig.ReadFile(a.configFile)
	switch {
	case err == nil:
		problems = append(zwconfig.CheckFile(a.configFile, data), problems...)
	case named || !errors.Is(err, fs.ErrNotExist):
		// A missing default config file is fine; a named one must exist.
		// (err does not repeat the path.)
		problems = append([]string{fmt.Sprintf("config %s: %v", a.configFile, err)}, problems...)
	}
	var flagErr error
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		key := strings.ReplaceAll(fl.Name, "-", "_")
		if flagErr == nil {
			if msg, _ := zwconfig.CheckValue(key, fl.Value.String()); msg != "" {
				flagErr = &usageError{fmt.Errorf("--%s: %s: %s", fl.Name, key, msg)}
			}
		}
	})
	if len(problems) > 0 {
		return &exitError{code: exitFailure, msg: strings.Join(problems, "\n")}
	}
	if flagErr != nil {
		return flagErr
	}
	if data != nil {
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return &exitError{code: exitFailure, msg: fmt.Sprintf("config %s: %v", a.configFile, err)}
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
		LogDrops:      v.GetBool("log_drops"),
		DNSPort:       uint16(v.GetUint("dns_port")),
		DNSUpstreams:  v.GetStringSlice("dns_upstreams"),
	}
}
