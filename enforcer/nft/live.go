package nft

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/zonewall/zonewall/enforcer"
	"golang.org/x/sys/unix"
)

// Live renders our tables as the kernel holds them now, in the same format
// as Ruleset.String, so that `zonewall plan` can diff planned against live
// line by line: set contents are read and decoded from the kernel; every
// kernel rule is compared by content with the static part Compile builds
// for the mode and log group found in the kernel and rendered as that rule
// when equal, else as a comment spelling out the kernel's expressions. Tables that do not exist are
// skipped; no tables gives "". If the live tables are not recognisable at
// all, the output of `nft list table` is returned instead.
func (a *Applier) Live() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	present := map[enforcer.Family]*nftables.Table{}
	for fam, nf := range families {
		t, err := a.conn.ListTableOfFamily(a.table, nf)
		if err == nil {
			present[fam] = t
		} else if !errors.Is(err, unix.ENOENT) {
			return "", fmt.Errorf("listing table %s %s: %w", fam, a.table, err)
		}
	}
	if len(present) == 0 {
		return "", nil
	}
	group, mode, ok := a.liveModeAndGroup(present[enforcer.FamilyInet])
	if !ok {
		return a.nftListing()
	}
	ref := enforcer.Static(enforcer.Options{Table: a.table, NflogGroup: group}, mode)
	live := &enforcer.Ruleset{}
	for _, t := range ref.Tables {
		kt, ok := present[t.Family]
		if !ok {
			continue
		}
		if err := a.fillLive(kt, t); err != nil {
			return "", err
		}
		live.Tables = append(live.Tables, t)
	}
	return live.String(), nil
}

// liveModeAndGroup reads the log group and enforce/audit mode from the
// first logging rule of the inet table.
func (a *Applier) liveModeAndGroup(t *nftables.Table) (uint16, string, bool) {
	if t == nil {
		return 0, "", false
	}
	ch := &nftables.Chain{Name: enforcer.DenyChainName(enforcer.OriginNoFlowCC), Table: t}
	rules, err := a.conn.GetRules(t, ch)
	if err != nil {
		return 0, "", false
	}
	for _, r := range rules {
		for _, e := range r.Exprs {
			if l, ok := e.(*expr.Log); ok {
				mode := "enforce"
				if strings.HasPrefix(string(l.Data), "zw:audit:") {
					mode = "audit"
				}
				return l.Group, mode, true
			}
		}
	}
	return 0, "", false
}

// fillLive puts the kernel's elements into ref's sets and its rules into
// ref's chains: a kernel rule whose content (see content.go) equals one of
// ours is rendered as ours, any other is rendered as a comment holding the
// kernel's expressions, so the output is what the kernel holds.
func (a *Applier) fillLive(kt *nftables.Table, t *enforcer.Table) error {
	for _, s := range t.Sets {
		ks, err := a.conn.GetSetByName(kt, s.Name)
		if err != nil {
			s.Comment = "missing in the kernel"
			continue
		}
		els, err := a.conn.GetSetElements(ks)
		if err != nil {
			return fmt.Errorf("listing elements of %s: %w", s.Name, err)
		}
		for _, ke := range els {
			if e, ok := decodeElement(s, ke); ok {
				s.Elements = append(s.Elements, e)
			}
		}
		s.Sort()
	}
	refs := setRefs(t)
	for _, c := range t.Chains {
		rules, err := a.conn.GetRules(kt, &nftables.Chain{Name: c.Name, Table: kt})
		if err != nil {
			c.Rules = []*enforcer.Rule{{Comment: "chain missing in the kernel"}}
			continue
		}
		want, err := expectedRules(t, c, refs)
		if err != nil {
			return err
		}
		c.Rules = liveRules(kt.Family, c.Rules, want, rules)
	}
	return nil
}

// liveRules maps the kernel's rules, in the kernel's order, to ours where
// their content is equal (matched in order), else to a foreign rule.
func liveRules(fam nftables.TableFamily, ours []*enforcer.Rule, want [][]byte, have []*nftables.Rule) []*enforcer.Rule {
	out := make([]*enforcer.Rule, 0, len(have))
	next := 0
	for _, r := range have {
		b, err := ruleBytes(fam, r.Exprs)
		found := -1
		for k := next; err == nil && k < len(want); k++ {
			if bytes.Equal(b, want[k]) {
				found = k
				break
			}
		}
		if found < 0 {
			out = append(out, &enforcer.Rule{Comment: "not zonewall's: " + describeExprs(r.Exprs)})
			continue
		}
		out = append(out, ours[found])
		next = found + 1
	}
	return out
}

// describeExprs spells out expressions we cannot render as our own rule.
func describeExprs(exprs []expr.Any) string {
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		parts[i] = strings.TrimPrefix(fmt.Sprintf("%T%+v", e, reflect.Indirect(reflect.ValueOf(e)).Interface()), "*expr.")
	}
	return strings.Join(parts, " ")
}

// nftListing is the fallback: `nft list table` for both families.
func (a *Applier) nftListing() (string, error) {
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

// nftList runs `nft list table FAMILY NAME` (read-only), in our namespace.
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

// NftListing returns `nft list table` output for our tables (read-only), for
// operators who want the kernel's own view.
func (a *Applier) NftListing() (string, error) { return a.nftListing() }
