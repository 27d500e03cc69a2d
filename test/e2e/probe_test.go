package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// check is one expected verdict: can the container open a TCP connection
// to addr:port?
type check struct {
	addr  string
	port  string
	allow bool
	what  string // for failure messages, e.g. "web -> api v6"
}

func allow(what, addr, port string) check { return check{addr, port, true, what} }
func deny(what, addr, port string) check  { return check{addr, port, false, what} }

// probe runs every check from one container at once (one docker exec; each
// attempt times out after 1 s) and returns which connected.
func probe(t *testing.T, from string, checks []check) map[int]bool {
	t.Helper()
	var script strings.Builder
	for i, c := range checks {
		fmt.Fprintf(&script, "(nc -w 1 %s %s </dev/null >/dev/null 2>&1 && echo ok %d || echo no %d) &\n", c.addr, c.port, i, i)
	}
	script.WriteString("wait\n")
	out, err := exec.Command("docker", "exec", from, "sh", "-c", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("probe from %s: %v\n%s", from, err, out)
	}
	got := map[int]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		var verdict string
		var i int
		if n, _ := fmt.Sscanf(line, "%s %d", &verdict, &i); n == 2 {
			got[i] = verdict == "ok"
		}
	}
	if len(got) != len(checks) {
		t.Fatalf("probe from %s: %d answers for %d checks:\n%s", from, len(got), len(checks), out)
	}
	return got
}

// expect asserts every check from one container. A denied connection must
// fail on every attempt (a single success is a leak); an allowed one may
// take until within to start passing, because the daemon applies changes
// asynchronously; waiting for that state is legitimate, waiting out a leak
// is not.
func expect(t *testing.T, from string, within time.Duration, checks ...check) {
	t.Helper()
	deadline := time.Now().Add(within)
	pending := checks
	for round := 0; ; round++ {
		got := probe(t, from, pending)
		var again []check
		for i, c := range pending {
			switch {
			case !c.allow && got[i]:
				t.Errorf("LEAK %s: %s connected to %s:%s, which must be denied", c.what, from, c.addr, c.port)
			case c.allow && !got[i]:
				again = append(again, c)
			}
		}
		if len(again) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, c := range again {
				t.Errorf("BLOCKED %s: %s cannot connect to %s:%s, which must be allowed", c.what, from, c.addr, c.port)
			}
			return
		}
		// Re-probe the denied ones too: every extra attempt is another
		// chance to catch a leak.
		pending = again
		for _, c := range checks {
			if !c.allow {
				pending = append(pending, c)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}
