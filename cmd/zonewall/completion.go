package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Shell completion of the names a running daemon knows: zones and
// containers for explain's FROM and TO and for drops' filters. Without a
// daemon (or root) completion offers only the fixed words.

// daemonNames asks the daemon for its zone and container names, briefly:
// a shell waiting on completion must not hang.
func daemonNames(cmd *cobra.Command, a *app) (zoneNames, containers []string) {
	// Completion runs no PersistentPreRun: read --socket, the config file
	// and the environment here.
	if err := a.loadConfig(cmd); err != nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	st, err := daemonClient(a).Status(ctx)
	if err != nil {
		return nil, nil
	}
	for _, z := range st.Zones {
		zoneNames = append(zoneNames, z.Name)
		for _, m := range z.Members {
			containers = append(containers, m.Name)
		}
	}
	for _, f := range st.Reported {
		if f.Container != "" {
			containers = append(containers, f.Container)
		}
	}
	return zoneNames, dedupe(containers)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// completeEndpoints completes explain's FROM and TO, then PROTO/PORT.
func completeEndpoints(a *app) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= 2 {
			if len(args) == 2 {
				return []string{"tcp/", "udp/", "icmp", "icmpv6"}, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		zs, cs := daemonNames(cmd, a)
		words := append(append([]string{"world", "world:", "host"}, zs...), cs...)
		return withPrefix(words, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlagNames completes a drops filter with zone or container names.
func completeFlagNames(a *app, zonesNotContainers bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		zs, cs := daemonNames(cmd, a)
		words := cs
		if zonesNotContainers {
			words = append(zs, "unzoned", "world", "host")
		}
		return withPrefix(words, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}
