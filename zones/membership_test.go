package zones

import (
	"slices"
	"testing"
)

func compose(project, service string) map[string]string {
	return map[string]string{LabelComposeProject: project, LabelComposeService: service}
}

func TestSelectorMatches(t *testing.T) {
	tests := []struct {
		name string
		sel  Selector
		c    Container
		want bool
	}{
		{"name glob", Selector{Name: "shop-web-*"}, Container{Name: "shop-web-1"}, true},
		{"name glob ignores a leading slash", Selector{Name: "shop-web-*"}, Container{Name: "/shop-web-1"}, true},
		{"name glob miss", Selector{Name: "shop-web-*"}, Container{Name: "shop-api-1"}, false},
		{"compose exact", Selector{Compose: "shop/api"}, Container{Labels: compose("shop", "api")}, true},
		{"compose other service", Selector{Compose: "shop/api"}, Container{Labels: compose("shop", "web")}, false},
		{"compose whole project", Selector{Compose: "shop/*"}, Container{Labels: compose("shop", "db")}, true},
		{"compose other project", Selector{Compose: "shop/*"}, Container{Labels: compose("blog", "db")}, false},
		{"compose needs both labels", Selector{Compose: "shop/*"}, Container{Labels: map[string]string{LabelComposeProject: "shop"}}, false},
		{"label value", Selector{Label: "tier=db"}, Container{Labels: map[string]string{"tier": "db"}}, true},
		{"label other value", Selector{Label: "tier=db"}, Container{Labels: map[string]string{"tier": "web"}}, false},
		{"label empty value", Selector{Label: "tier="}, Container{Labels: map[string]string{"tier": ""}}, true},
		{"label present", Selector{Label: "tier"}, Container{Labels: map[string]string{"tier": "anything"}}, true},
		{"label absent", Selector{Label: "tier"}, Container{Labels: map[string]string{"other": "x"}}, false},
		{"image tag glob", Selector{Image: "postgres:*"}, Container{Image: "postgres:16"}, true},
		{"image with docker.io/library prefix", Selector{Image: "postgres:*"}, Container{Image: "docker.io/library/postgres:16"}, true},
		{"image with docker.io prefix", Selector{Image: "bitnami/redis:*"}, Container{Image: "docker.io/bitnami/redis:7"}, true},
		{"image implicit latest", Selector{Image: "redis:latest"}, Container{Image: "redis"}, true},
		{"image untagged matches tag glob", Selector{Image: "postgres:*"}, Container{Image: "postgres"}, true},
		{"image long pattern, short reference", Selector{Image: "docker.io/library/postgres:16"}, Container{Image: "postgres:16"}, true},
		{"image other registry is not Docker Hub", Selector{Image: "postgres:*"}, Container{Image: "registry.example:5000/postgres:16"}, false},
		{"image registry with port", Selector{Image: "registry.example:5000/app:*"}, Container{Image: "registry.example:5000/app:1"}, true},
		{"image registry with port is not tagged", Selector{Image: "registry.example:5000/app:latest"}, Container{Image: "registry.example:5000/app"}, true},
		{"image miss", Selector{Image: "postgres:*"}, Container{Image: "mysql:8"}, false},
		{"network", Selector{Network: "shop_back"}, Container{Networks: []string{"bridge", "shop_back"}}, true},
		{"network miss", Selector{Network: "shop_back"}, Container{Networks: []string{"shop_front"}}, false},
		{"all keys must match", Selector{Label: "tier=api", Network: "shop_back"},
			Container{Labels: map[string]string{"tier": "api"}, Networks: []string{"shop_front"}}, false},
		{"all keys match", Selector{Label: "tier=api", Network: "shop_back"},
			Container{Labels: map[string]string{"tier": "api"}, Networks: []string{"shop_back"}}, true},
		{"empty selector matches nothing", Selector{}, Container{Name: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Matches(tt.c); got != tt.want {
				t.Errorf("%+v.Matches(%+v) = %v, want %v", tt.sel, tt.c, got, tt.want)
			}
		})
	}
}

func TestZoneOf(t *testing.T) {
	pol := mustLoad(t, `zones:
  web:
    members:
      - compose: shop/web
      - name: "shop-web-*"
  db:
    members:
      - image: "postgres:*"
  admin:
    members:
      - label: admin
`)
	tests := []struct {
		name    string
		c       Container
		zone    string
		matched []string
	}{
		{"any selector of a zone", Container{Name: "shop-web-7"}, "web", []string{"web"}},
		{"second selector", Container{Labels: compose("shop", "web")}, "web", []string{"web"}},
		{"no zone", Container{Name: "other", Image: "busybox"}, "", nil},
		{"conflict is unzoned", Container{Name: "shop-web-1", Image: "postgres:16"}, "", []string{"web", "db"}},
		{"three-way conflict", Container{Name: "shop-web-1", Image: "postgres", Labels: map[string]string{"admin": ""}}, "", []string{"web", "db", "admin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pol.ZoneOf(tt.c)
			if m.Zone != tt.zone || !slices.Equal(m.Matched, tt.matched) {
				t.Errorf("ZoneOf = %+v, want zone %q matched %v", m, tt.zone, tt.matched)
			}
			if m.Conflict() != (len(tt.matched) > 1) {
				t.Errorf("Conflict() = %v", m.Conflict())
			}
		})
	}
}

// mustLoad loads one zone file and fails the test on any error.
func mustLoad(t *testing.T, content string) *Policy {
	t.Helper()
	pol, err := Load(writeZoneDir(t, map[string]string{"zones.yaml": content}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return pol
}
