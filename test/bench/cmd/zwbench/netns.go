package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// netns is a named network namespace made with `ip netns add` (so that
// `ip netns exec` can run our traffic programs in it).
type netns struct{ name string }

// newNetns creates the namespace and registers its deletion. A namespace
// of that name left by an interrupted run is deleted first.
func newNetns(c *cleanups, name string) (*netns, error) {
	_ = exec.Command("ip", "netns", "del", name).Run()
	if err := run("ip", "netns", "add", name); err != nil {
		return nil, err
	}
	n := &netns{name}
	c.add("netns "+name, n.delete)
	if err := n.run("ip", "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *netns) delete() error {
	out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("ip netns del %s: %w: %s", n.name, err, bytes.TrimSpace(out))
	}
	return nil
}

// open returns a file descriptor of the namespace, for netlink handles bound to it.
func (n *netns) open() (*os.File, error) {
	f, err := os.Open("/run/netns/" + n.name)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", n.name, err)
	}
	return f, nil
}

// run executes a command inside the namespace.
func (n *netns) run(name string, args ...string) error {
	return run("ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// output executes a command inside the namespace and returns its stdout.
func (n *netns) output(name string, args ...string) ([]byte, error) {
	return output("ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// nftFile loads an nft script in the namespace with `nft -f`.
func (n *netns) nftFile(path string, extra ...string) ([]byte, error) {
	return n.output("nft", append(extra, "-f", path)...)
}

// deleteTable removes an nft table in the namespace; a missing table is fine.
func (n *netns) deleteTable(family, name string) error {
	_, err := n.output("nft", "delete", "table", family, name)
	if err != nil && !isNoSuchTable(err) {
		return err
	}
	return nil
}

func isNoSuchTable(err error) bool {
	var ee *cmdError
	return errors.As(err, &ee) && (strings.Contains(ee.stderr, "No such file") || strings.Contains(ee.stderr, "does not exist"))
}

// cmdError keeps a failed command's stderr for the message and for callers
// that tell expected failures apart.
type cmdError struct {
	cmd    string
	stderr string
	err    error
}

func (e *cmdError) Error() string {
	msg := e.stderr
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return fmt.Sprintf("%s: %v: %s", e.cmd, e.err, msg)
}
func (e *cmdError) Unwrap() error { return e.err }

func run(name string, args ...string) error {
	_, err := output(name, args...)
	return err
}

func output(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		line := name + " " + strings.Join(args, " ")
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		return out, &cmdError{cmd: line, stderr: strings.TrimSpace(stderr.String()), err: err}
	}
	return out, nil
}
