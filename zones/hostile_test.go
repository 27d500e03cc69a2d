package zones

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// aliasBomb is a small file whose aliases expand to count copies of a list
// of width values (a "billion laughs" over yaml.Node trees).
func aliasBomb(width, count int) string {
	var b strings.Builder
	b.WriteString("zones:\n  a:\n    members: [{name: a}]\nflows:\n  - {from: a, to: a, ports: &p [")
	for i := 0; i < width; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "tcp/%d", i+1)
	}
	b.WriteString("]}\n")
	for i := 0; i < count; i++ {
		b.WriteString("  - {from: a, to: a, ports: *p}\n")
	}
	return b.String()
}

func TestAliasBombIsRefusedQuickly(t *testing.T) {
	dir := writeZoneDir(t, map[string]string{"bomb.yaml": aliasBomb(2000, 20000)})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	lines := loadErrors(t, dir)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Load took %v", d)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 200<<20 {
		t.Errorf("Load allocated %d MB", grew>>20)
	}
	// The 51st alias is the first over 100,000 values (50 x 2,001).
	want := `bomb.yaml:55:29: alias "*p": aliases expand this file to more than 100000 values`
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("got %q, want one error starting %q", lines, want)
	}
}

func TestAliasesWithinTheBudgetWork(t *testing.T) {
	dir := writeZoneDir(t, map[string]string{"a.yaml": aliasBomb(10, 100)})
	pol, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Flows) != 101 || len(pol.Flows[100].Ports) != 10 {
		t.Errorf("got %d flows", len(pol.Flows))
	}
}

func TestNestedAliasBomb(t *testing.T) {
	// Each level doubles nine times; nothing is ever walked in full.
	content := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, l := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		content += fmt.Sprintf("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", l, l, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = l
	}
	dir := writeZoneDir(t, map[string]string{"a.yaml": content})
	lines := loadErrors(t, dir)
	if len(lines) != 1 || !strings.Contains(lines[0], "aliases expand this file to more than") {
		t.Errorf("got %q", lines)
	}
}

func TestSpecialFiles(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	if err := os.WriteFile(secret, []byte("zwtest-h-SECRET-7f3a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := writeZoneDir(t, map[string]string{
		"10-ok.yaml":       baseZones,
		"real.txt":         "flows: [{from: web, to: api}]\n",
		".hidden.yaml":     "garbage: [",
		"big.yaml":         "# " + strings.Repeat("x", MaxFileSize) + "\n",
		"README.md":        "not read",
		"secret-copy.yaml": "",
	})
	os.Remove(filepath.Join(dir, "secret-copy.yaml"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o600))
	must(os.Mkdir(filepath.Join(dir, "dir.yaml"), 0o700))
	must(os.Symlink(secret, filepath.Join(dir, "abs-link.yaml")))
	rel, _ := filepath.Rel(dir, secret)
	must(os.Symlink(rel, filepath.Join(dir, "rel-link.yaml")))
	must(os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")))
	must(os.Symlink("real.txt", filepath.Join(dir, "inside.yaml")))
	must(os.Symlink("gone.txt", filepath.Join(dir, "dangling.yaml")))
	must(os.Symlink("loop.yaml", filepath.Join(dir, "loop.yaml")))
	must(os.Symlink("10-ok.yaml", filepath.Join(dir, ".#lock.yaml"))) // emacs lock link: hidden

	done := make(chan []string)
	go func() { done <- loadErrors(t, dir) }()
	var lines []string
	select {
	case lines = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Load hangs (FIFO opened blocking?)")
	}
	outsideRule := "symbolic link that leads outside the zones directory"
	want := []string{
		"abs-link.yaml:1:1: " + outsideRule,
		"big.yaml:1:1: larger than 1024 KiB",
		"dangling.yaml:1:1: symbolic link to nothing",
		"dir.yaml:1:1: is a directory, not a regular file; zone files must be regular files",
		"fifo.yaml:1:1: is a named pipe (FIFO), not a regular file",
		"loop.yaml:1:1: symbolic link loop",
		"rel-link.yaml:1:1: " + outsideRule,
		"zero.yaml:1:1: " + outsideRule,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("error %d: got %q, want prefix %q", i, lines[i], want[i])
		}
		if strings.Contains(lines[i], "SECRET") {
			t.Errorf("error quotes an outside file: %q", lines[i])
		}
	}

	// The same rule, seen through ReadDir: the inside link is read, the
	// hidden files are not.
	srcs, _ := ReadDir(dir)
	var names []string
	for _, s := range srcs {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "10-ok.yaml inside.yaml" {
		t.Errorf("ReadDir read %q", got)
	}
}

func TestZonesDirMayBeALink(t *testing.T) {
	dir := writeZoneDir(t, map[string]string{"a.yaml": baseZones})
	link := filepath.Join(t.TempDir(), "zones.d")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(link); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a.yaml")
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, notDir := range []string{file, fifo, "/dev/zero"} {
		done := make(chan error)
		go func() { _, err := Load(notDir); done <- err }()
		select {
		case err := <-done:
			if err == nil || err.Error() != notDir+": not a directory" {
				t.Errorf("Load(%s) = %v", notDir, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Load(%s) hangs", notDir)
		}
	}
}

func TestUnparsableFileIsNotQuoted(t *testing.T) {
	for name, content := range map[string]string{
		"one line":   "zwtest-h-SECRET-one-line-token-that-is-long\n",
		"short":      "SECRET\n",
		"many lines": "root:SECRET:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
		"a list":     "- SECRET\n- SECRET2\n",
		"keys":       "SECRET.value: 1\nSECRET=x: 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeZoneDir(t, map[string]string{"a.yaml": content})
			for _, l := range loadErrors(t, dir) {
				if strings.Contains(l, "SECRET") {
					t.Errorf("error quotes file content: %q", l)
				}
			}
		})
	}
}

func TestTooManyZones(t *testing.T) {
	var b strings.Builder
	b.WriteString("zones:\n")
	for i := 1; i <= MaxZones+3; i++ {
		fmt.Fprintf(&b, "  z%d:\n    members: [{name: c%d}]\n", i, i)
	}
	dir := writeZoneDir(t, map[string]string{"a.yaml": b.String()})
	lines := loadErrors(t, dir)
	want := `a.yaml:506:3: zone "z253" is zone number 253 of 255; a policy may have at most 252 zones`
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("got %q, want %q", lines, want)
	}

	b.Reset()
	b.WriteString("zones:\n")
	for i := 1; i <= MaxZones; i++ {
		fmt.Fprintf(&b, "  z%d:\n    members: [{name: c%d}]\n", i, i)
	}
	dir = writeZoneDir(t, map[string]string{"a.yaml": b.String()})
	if _, err := Load(dir); err != nil {
		t.Errorf("%d zones: %v", MaxZones, err)
	}
}

func TestFlowNames(t *testing.T) {
	for _, name := range []string{"public-web", "db clients", "a_b.c:d/e+f", "9"} {
		dir := writeZoneDir(t, map[string]string{"a.yaml": baseZones + fmt.Sprintf("flows:\n  - {name: %q, from: web, to: api}\n", name)})
		if _, err := Load(dir); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
	for _, name := range []string{`a"b`, "x\u202eevil", "tab\there", "-x", "a;b", strings.Repeat("a", 65), "é"} {
		dir := writeZoneDir(t, map[string]string{"a.yaml": baseZones + fmt.Sprintf("flows:\n  - {name: %q, from: web, to: api}\n", name)})
		lines := loadErrors(t, dir)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "a.yaml:9:12: name: ") {
			t.Errorf("name %q: got %q", name, lines)
		}
	}
}

func TestErrorsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(baseZones + "flows:\n  - from: web\n    to: api\n    ports:\n")
	for i := 0; i < 3000; i++ {
		b.WriteString("      - tcp/0\n")
	}
	dir := writeZoneDir(t, map[string]string{"a.yaml": b.String()})
	lines := loadErrors(t, dir)
	if len(lines) != MaxErrors+1 {
		t.Fatalf("got %d errors, want %d", len(lines), MaxErrors+1)
	}
	if last := lines[MaxErrors]; !strings.HasPrefix(last, "a.yaml:1012:9: 2000 more errors not shown") {
		t.Errorf("last line %q", last)
	}
}

func TestTooManyFlowRules(t *testing.T) {
	var b strings.Builder
	b.WriteString(baseZones + "flows:\n  - {from: web, to: api}\n  - from: [web, api]\n    to: [web, api]\n    ports:\n")
	for i := 1; i <= 2500; i++ { // 1 + 4 x 2,500 = 10,001 rules
		fmt.Fprintf(&b, "      - tcp/%d\n", i)
	}
	dir := writeZoneDir(t, map[string]string{"a.yaml": b.String()})
	lines := loadErrors(t, dir)
	want := "a.yaml:10:5: flow 2: the flows so far make 10001 allow rules"
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Errorf("got %q, want %q", lines, want)
	}
	b.Reset()
	b.WriteString(baseZones + "flows:\n")
	for i := 1; i <= MaxFlowRules; i++ {
		fmt.Fprintf(&b, "  - {from: web, to: api, ports: [tcp/%d]}\n", i)
	}
	dir = writeZoneDir(t, map[string]string{"a.yaml": b.String()})
	if _, err := Load(dir); err != nil {
		t.Errorf("%d rules: %v", MaxFlowRules, err)
	}
}
