package docker

import (
	"os"
	"path/filepath"
	"testing"
)

// A sandbox belongs to a container when a process in that network
// namespace sits in the container's cgroup; another container's process,
// or one in another namespace, does not make it so.
func TestNetnsHasCgroupProcess(t *testing.T) {
	proc := t.TempDir()
	mk := func(pid, ns, cgroup string) {
		dir := filepath.Join(proc, pid)
		if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(ns, filepath.Join(dir, "ns", "net")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("1", "net:[4026531840]", "0::/init.scope\n")
	mk("200", "net:[4026532999]", "0::/docker/"+ctrAPI+"\n")
	mk("300", "net:[4026533000]", "0::/system.slice/docker-"+ctrDB+".scope\n")
	if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ino  uint64
		id   string
		want bool
	}{
		{4026532999, ctrAPI, true},
		{4026533000, ctrDB, true},
		{4026532999, ctrDB, false}, // api's sandbox, db's ID
		{4026531840, ctrAPI, false},
		{4026539999, ctrAPI, false},
	} {
		if got := netnsHasCgroupProcess(proc, tc.ino, tc.id); got != tc.want {
			t.Errorf("ino %d id %.12s: %v, want %v", tc.ino, tc.id, got, tc.want)
		}
	}
}
