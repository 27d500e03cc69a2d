package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// zwDaemon is a `zonewall run` this benchmark started, stopped by its PID.
type zwDaemon struct {
	bin, socket string
	cmd         *exec.Cmd
	started     time.Time
	exited      chan error
}

// zwStatus is the part of `zonewall status --json` the benchmark reads.
type zwStatus struct {
	Synced    bool `json:"synced"`
	Applies   int  `json:"applies"`
	LastApply *struct {
		At       time.Time `json:"at"`
		Duration int64     `json:"duration_ns"`
		Error    string    `json:"error"`
	} `json:"last_apply"`
	Zones []struct {
		Name    string            `json:"name"`
		Members []json.RawMessage `json:"members"`
	} `json:"zones"`
}

func (s *zwStatus) members(zone string) int {
	for _, z := range s.Zones {
		if z.Name == zone {
			return len(z.Members)
		}
	}
	return 0
}

// startDaemon runs `zonewall run` on the given zones directory.
func startDaemon(log *slog.Logger, bin, zonesDir, dir string) (*zwDaemon, error) {
	d := &zwDaemon{bin: bin, socket: filepath.Join(dir, "zw.sock"), exited: make(chan error, 1)}
	logf, err := os.OpenFile(filepath.Join(dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, "run", "--zones-dir", zonesDir, "--socket", d.socket,
		"--state-dir", filepath.Join(dir, "state"))
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start zonewall run: %w", err)
	}
	go func() { d.exited <- d.cmd.Wait(); logf.Close() }()
	log.Info("zonewall run started", "pid", d.cmd.Process.Pid)
	return d, nil
}

func (d *zwDaemon) pid() int { return d.cmd.Process.Pid }

// stop ends the daemon by PID and removes the host tables it programs.
func (d *zwDaemon) stop() error {
	if d == nil || d.cmd == nil {
		return nil
	}
	_ = syscall.Kill(d.pid(), syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(d.pid(), syscall.SIGKILL)
		<-d.exited
	}
	d.cmd = nil
	return deleteHostTables()
}

// deleteHostTables removes zonewall's host tables by name.
func deleteHostTables() error {
	for _, fam := range []string{"inet", "bridge"} {
		_, err := output("nft", "delete", "table", fam, "zonewall")
		if err != nil && !isNoSuchTable(err) {
			return err
		}
	}
	return nil
}

// status asks the daemon through the CLI, as an operator would.
func (d *zwDaemon) status() (*zwStatus, error) {
	out, err := output(d.bin, "status", "--json", "--socket", d.socket)
	if err != nil {
		return nil, err
	}
	var s zwStatus
	if err := json.Unmarshal(out, &s); err != nil {
		return nil, fmt.Errorf("status --json: %w", err)
	}
	return &s, nil
}

// waitFor polls the status until ok returns true.
func (d *zwDaemon) waitFor(timeout time.Duration, ok func(*zwStatus) bool) (*zwStatus, time.Time, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-d.exited:
			d.exited <- err
			return nil, time.Time{}, fmt.Errorf("zonewall run exited: %v (see daemon.log)", err)
		default:
		}
		s, err := d.status()
		if err == nil && ok(s) {
			return s, time.Now(), nil
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	return nil, time.Time{}, fmt.Errorf("daemon not there within %s (last error: %v)", timeout, last)
}

// procSample is a reading of /proc/PID.
type procSample struct {
	at       time.Time
	cpuTicks int64 // utime + stime
	rssKB    int64
}

func readProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpuTicks = ut + st
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.rssKB, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return s, nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// cpuPercent is the CPU used between two samples, in % of one core.
func cpuPercent(a, b procSample) float64 {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(b.cpuTicks-a.cpuTicks) / clockTicks / secs * 100
}

// sampler records the peak RSS and CPU of a process until stopped.
type sampler struct {
	stop  chan struct{}
	done  chan struct{}
	first procSample
	last  procSample
	peak  int64
}

func startSampler(pid int) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.first, _ = readProc(pid)
	s.peak = s.first.rssKB
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				s.last, _ = readProc(pid)
				s.peak = max(s.peak, s.last.rssKB)
				return
			case <-t.C:
				if p, err := readProc(pid); err == nil {
					s.peak = max(s.peak, p.rssKB)
				}
			}
		}
	}()
	return s
}

// finish returns (CPU % of one core, peak RSS MB) over the sampled time.
func (s *sampler) finish() (float64, float64) {
	close(s.stop)
	<-s.done
	return cpuPercent(s.first, s.last), float64(s.peak) / 1024
}
