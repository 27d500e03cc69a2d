package zones

import (
	"path"
	"strings"
)

// Compose labels Docker Compose puts on every container it creates.
const (
	LabelComposeProject = "com.docker.compose.project"
	LabelComposeService = "com.docker.compose.service"
)

// ZoneOf matches c against every zone. Membership.Zone is set only when
// exactly one zone matched; a container matched by several zones is a
// conflict and is treated as unzoned (never given the union of the zones).
func (p *Policy) ZoneOf(c Container) Membership {
	var m Membership
	for _, z := range p.Zones {
		if z.Matches(c) {
			m.Matched = append(m.Matched, z.Name)
		}
	}
	if len(m.Matched) == 1 {
		m.Zone = m.Matched[0]
	}
	return m
}

// Matches reports whether any of the zone's selectors matches c.
func (z *Zone) Matches(c Container) bool {
	for _, s := range z.Members {
		if s.Matches(c) {
			return true
		}
	}
	return false
}

// Matches reports whether every non-empty field of s matches c. A selector
// with no fields matches nothing (Load rejects it anyway).
func (s Selector) Matches(c Container) bool {
	if s.Name == "" && s.Compose == "" && s.Label == "" && s.Image == "" && s.Network == "" {
		return false
	}
	if s.Name != "" && !globMatch(s.Name, strings.TrimPrefix(c.Name, "/")) {
		return false
	}
	if s.Compose != "" && !matchCompose(s.Compose, c.Labels) {
		return false
	}
	if s.Label != "" && !matchLabel(s.Label, c.Labels) {
		return false
	}
	if s.Image != "" && !matchImage(s.Image, c.Image) {
		return false
	}
	if s.Network != "" && !contains(c.Networks, s.Network) {
		return false
	}
	return true
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func matchCompose(pattern string, labels map[string]string) bool {
	project, okP := labels[LabelComposeProject]
	service, okS := labels[LabelComposeService]
	if !okP || !okS || project == "" || service == "" {
		return false
	}
	return globMatch(pattern, project+"/"+service)
}

func matchLabel(sel string, labels map[string]string) bool {
	key, want, hasValue := strings.Cut(sel, "=")
	got, present := labels[key]
	if !present {
		return false
	}
	return !hasValue || got == want
}

// matchImage matches the reference as given and its common spellings, so
// "postgres:*" matches "postgres:16" and "docker.io/library/postgres:16",
// and "redis:latest" matches "redis".
func matchImage(pattern, ref string) bool {
	for _, form := range imageForms(ref) {
		if globMatch(pattern, form) {
			return true
		}
	}
	return false
}

// imageForms returns ref with and without Docker Hub's implicit parts:
// the docker.io/ and docker.io/library/ prefixes and the :latest tag.
func imageForms(ref string) []string {
	if ref == "" {
		return nil
	}
	short := ref
	for _, prefix := range []string{"docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"} {
		if strings.HasPrefix(short, prefix) {
			short = strings.TrimPrefix(short, prefix)
			break
		}
	}
	long := short
	if firstPart, _, hasSlash := strings.Cut(short, "/"); !hasSlash {
		long = "docker.io/library/" + short
	} else if !strings.ContainsAny(firstPart, ".:") && firstPart != "localhost" {
		long = "docker.io/" + short
	}
	forms := []string{ref, short, long}
	if !hasTagOrDigest(ref) {
		forms = append(forms, ref+":latest", short+":latest", long+":latest")
	}
	return forms
}

// hasTagOrDigest looks only at the last path element, because a registry
// host may carry a port ("registry:5000/app").
func hasTagOrDigest(ref string) bool {
	last := ref[strings.LastIndex(ref, "/")+1:]
	return strings.ContainsAny(last, ":@")
}
