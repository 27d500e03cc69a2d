package nft

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Live renders our tables as the kernel holds them now, in nft syntax, by
// running `nft list table` (read-only; for `zonewall plan` diffs). Tables
// that do not exist are skipped; no tables gives "".
func (a *Applier) Live() (string, error) {
	var out strings.Builder
	for _, fam := range []string{"bridge", "inet"} {
		text, err := a.nftList(fam)
		if err != nil {
			return "", err
		}
		if out.Len() > 0 && text != "" {
			out.WriteString("\n")
		}
		out.WriteString(text)
	}
	return out.String(), nil
}

func (a *Applier) nftList(family string) (string, error) {
	args := []string{"list", "table", family, a.table}
	cmd := exec.Command("nft", args...)
	if a.netns >= 0 {
		// Enter the namespace only for this child process.
		dup, err := syscall.Dup(a.netns)
		if err != nil {
			return "", fmt.Errorf("dup netns fd: %w", err)
		}
		f := os.NewFile(uintptr(dup), "netns")
		defer f.Close()
		cmd = exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", "nft"}, args...)...)
		cmd.ExtraFiles = []*os.File{f}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(stderr.String(), "No such file or directory") {
			return "", nil
		}
		return "", fmt.Errorf("nft list table %s %s: %w: %s", family, a.table, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
