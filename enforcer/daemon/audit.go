package daemon

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zonewall/zonewall/enforcer"
	"github.com/zonewall/zonewall/enforcer/control"
	"github.com/zonewall/zonewall/zones"
)

// Audit reports what the compiler found (host-network, default-bridge,
// unzoned, conflicting, unfilterable containers, impossible flows), published
// ports on every interface that no flow from world reaches, and br_netfilter
// being off.
func (d *Daemon) Audit() control.Audit {
	d.mu.Lock()
	pol, v, brnf := d.policy, d.view, d.brnf
	findings := append([]control.Finding(nil), d.findings...)
	d.mu.Unlock()

	if strings.HasPrefix(brnf, "off") {
		findings = append(findings, control.Finding{Kind: "br-netfilter", Detail: "bridged traffic between containers is not filtered: " + brnf})
	}
	if pol != nil && v != nil {
		findings = append(findings, d.unreachablePublished(pol.p, v)...)
	}
	engine := d.dockerEngine()
	if engine != nil && engine.Support == "unsupported" {
		findings = append(findings, control.Finding{Kind: "docker-version",
			Detail: fmt.Sprintf("Docker %s (API %s, %s backend): %s", engine.Version, engine.APIVersion, engine.FirewallBackend, engine.Detail)})
	}
	sort.SliceStable(findings, func(i, j int) bool {
		if findings[i].Kind != findings[j].Kind {
			return findings[i].Kind < findings[j].Kind
		}
		return findings[i].Container < findings[j].Container
	})
	if findings == nil {
		findings = []control.Finding{}
	}
	return control.Audit{Findings: findings, Docker: engine}
}

// dockerEngine asks Docker for its version now (it may have been upgraded
// since the daemon started); nil when it is not configured or unreachable.
func (d *Daemon) dockerEngine() *control.DockerEngine {
	if d.cfg.DockerEngine == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	e, err := d.cfg.DockerEngine(ctx)
	if err != nil {
		d.cfg.Log.Warn("audit: Docker version", "err", err)
		return nil
	}
	return &e
}

// unreachablePublished finds ports Docker publishes on every host interface
// (CIS 5.14) that no flow from world allows: open in Docker, closed by us,
// so either the publish or the policy is a mistake.
func (d *Daemon) unreachablePublished(p *zones.Policy, v *view) []control.Finding {
	var out []control.Finding
	for _, c := range v.containers {
		if !c.Running {
			continue
		}
		zone := v.members[c.ID].Zone
		for _, pp := range c.Ports {
			if pp.HostIP.IsValid() && !pp.HostIP.IsUnspecified() {
				continue
			}
			proto := zones.Proto(pp.Proto)
			dec := d.cfg.Engine.Decide(p, zones.Peer{Kind: zones.KindWorld}, zones.Peer{Kind: zones.KindZone, Zone: zone}, proto, pp.ContainerPort)
			if dec.Allow {
				continue
			}
			out = append(out, control.Finding{
				Kind: "published-port", Container: c.Name, ContainerID: shortID(c.ID),
				Detail: fmt.Sprintf("publishes %s on every interface, but no flow from world reaches %s %s/%d (%s)",
					publishedString(pp), zoneOrUnzoned(zone), pp.Proto, pp.ContainerPort, dec.Reason),
			})
		}
	}
	return out
}

func publishedString(pp enforcer.PublishedPort) string {
	host := "0.0.0.0"
	if pp.HostIP.IsValid() {
		host = pp.HostIP.String()
		if pp.HostIP.Is6() {
			host = "[" + host + "]"
		}
	}
	return fmt.Sprintf("%s:%d->%d/%s", host, pp.HostPort, pp.ContainerPort, pp.Proto)
}

func zoneOrUnzoned(z string) string {
	if z == "" {
		return "(unzoned)"
	}
	return "zone " + z
}
