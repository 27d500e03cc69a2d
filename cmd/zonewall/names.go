package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/daemon"
	"github.com/zonewall/zonewall/enforcer/dnsproxy"
	"github.com/zonewall/zonewall/enforcer/nft"
)

// namesParts wires egress by name: the forwarder on dns_port (UDP and TCP,
// both families) and the kernel's DNS table. nil when dns_port is 0.
func namesParts(cfg config, log *slog.Logger) func(dnsproxy.Resolver) (daemon.Names, func(context.Context), error) {
	if cfg.DNSPort == 0 {
		return nil
	}
	return func(source dnsproxy.Resolver) (daemon.Names, func(context.Context), error) {
		var upstreams []string
		for _, u := range cfg.DNSUpstreams {
			upstreams = append(upstreams, strings.FieldsFunc(u, func(r rune) bool { return r == ',' || r == ' ' })...)
		}
		if len(upstreams) == 0 {
			upstreams = resolvConfServers("/etc/resolv.conf")
		}
		if len(upstreams) == 0 {
			log.Warn("no upstream resolver (dns_upstreams empty, none in /etc/resolv.conf): lookups through the DNS forwarder fail")
		}
		table, err := nft.NewDNSTable(enforcer.DefaultTable, cfg.DNSPort, nft.WithLogger(log))
		if err != nil {
			return nil, nil, err
		}
		proxy := dnsproxy.New(dnsproxy.Config{Upstreams: upstreams, Source: source, Writer: table, Log: log})
		addr := fmt.Sprintf("[::]:%d", cfg.DNSPort)
		// A port in use must not stop enforcement: without the forwarder,
		// domain flows open nothing (fail closed) and the error is logged.
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			table.Close()
			log.Error("DNS forwarder not started; domain flows open nothing", "dns_port", cfg.DNSPort, "err", err)
			return nil, nil, nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			pc.Close()
			table.Close()
			log.Error("DNS forwarder not started; domain flows open nothing", "dns_port", cfg.DNSPort, "err", err)
			return nil, nil, nil
		}
		serve := func(ctx context.Context) {
			defer table.Close()
			if err := proxy.Serve(ctx, pc, ln); err != nil {
				log.Error("DNS forwarder stopped; domain flows open nothing new", "err", err)
			}
		}
		log.Info("DNS forwarder for domain flows", "port", cfg.DNSPort, "upstreams", upstreams)
		return &daemon.DNSNames{Proxy: proxy, Table: table}, serve, nil
	}
}

// resolvConfServers reads the nameserver lines of a resolv.conf as
// host:port addresses.
func resolvConfServers(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(fields[1])
		if err != nil {
			continue
		}
		out = append(out, netip.AddrPortFrom(a.WithZone(""), 53).String())
	}
	return out
}
