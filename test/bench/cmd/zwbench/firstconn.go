package main

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// firstConnScript is the container's command: its first instruction dials
// the server. Dials are launched every 5 ms (then every 50 ms) in the
// background, so a dropped SYN (retransmitted only after 1 s) does not hide
// a later success; timestamps come from adjtimex (microseconds; busybox has
// no date +%N). It gives up after about 2 s.
const firstConnScript = `ts() { adjtimex | awk -v tag="$1" '/tv_sec/{s=$2} /tv_usec/{u=$2} END{printf "%s %d%06d\n", tag, s, u}'; }
ts start
i=0
while [ $i -lt 130 ] && [ ! -e /tmp/ok ]; do
  (nc -w 1 PEER PORT </dev/null >/dev/null 2>&1 && touch /tmp/ok && ts ok) &
  if [ $i -lt 100 ]; then usleep 5000; else usleep 50000; fi
  i=$((i+1))
done
wait
ts end
`

// firstConn is one start: ms from the container's first instruction to its
// first successful connection, or never (within the bound).
type firstConn struct {
	ms    float64
	never bool
}

// firstConnections starts count containers one after another and reads
// their timings. zoned containers carry the client label.
func (b *dockerBench) firstConnections(prefix string, count int, zoned bool) ([]firstConn, error) {
	var out []firstConn
	labels := map[string]string{}
	if zoned {
		labels["zwb-role"] = "client"
	}
	script := strings.NewReplacer("PEER", serverIP, "PORT", strconv.Itoa(serverPort)).Replace(firstConnScript)
	for i := 0; i < count && b.ctx.Err() == nil; i++ {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		// Attached: the output arrives when the container exits; exited
		// containers are removed in one batch by the cleanup.
		logs, err := b.env.runAttached(name, labels, "/bin/sh", "-c", script)
		if err != nil {
			return nil, err
		}
		fc, err := parseFirstConn(string(logs), b.cfg.Never)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, fc)
	}
	return out, b.ctx.Err()
}

// parseFirstConn reads "start US", "ok US" (any number) and "end US" lines.
func parseFirstConn(logs string, never time.Duration) (firstConn, error) {
	var start, firstOK int64
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		tag, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok {
			continue
		}
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return firstConn{}, fmt.Errorf("timestamp %q: %w", sc.Text(), err)
		}
		switch tag {
		case "start":
			start = us
		case "ok":
			if firstOK == 0 || us < firstOK {
				firstOK = us
			}
		}
	}
	if start == 0 {
		return firstConn{}, fmt.Errorf("no start timestamp in %q", logs)
	}
	if firstOK == 0 || time.Duration(firstOK-start)*time.Microsecond > never {
		return firstConn{never: true}, nil
	}
	return firstConn{ms: float64(firstOK-start) / 1000}, nil
}

func (b *dockerBench) reportFirstConnection(base, zw, unzoned []firstConn, syncMs float64) {
	times := func(fs []firstConn) ([]float64, int) {
		var xs []float64
		nevers := 0
		for _, f := range fs {
			if f.never {
				nevers++
				continue
			}
			xs = append(xs, f.ms)
		}
		return xs, nevers
	}
	zwT, zwNever := times(zw)
	baseT, baseNever := times(base)
	fig := Figure{Scenario: "docker", Name: fmt.Sprintf("first allowed connection after start, %d running", b.cfg.Running),
		Unit: "ms", Better: "lower", BaselineName: "no firewall",
		Info: map[string]any{"starts": len(zw), "zoned_never": zwNever, "baseline_never": baseNever, "running": b.cfg.Running}}
	if len(zwT) > 0 {
		fig.Zonewall = sum(Summarize(zwT))
		fig.Goal = goalBelow("first allowed connection < 20 ms p99", fig.Zonewall.P99, 20)
		if zwNever > 0 {
			fig.Goal.Met = false
			fig.Note = fmt.Sprintf("(%d of %d never connected)", zwNever, len(zw))
		}
	} else {
		fig.Note = "never"
	}
	if len(baseT) > 0 {
		fig.Baseline = sum(Summarize(baseT))
	}
	b.r.add(fig)

	_, unzonedNever := times(unzoned)
	note := "never"
	if unzonedNever != len(unzoned) {
		note = fmt.Sprintf("CONNECTED in %d of %d starts", len(unzoned)-unzonedNever, len(unzoned))
	}
	b.r.add(Figure{Scenario: "docker", Name: "unzoned container: first connection", Unit: "", Better: "lower",
		Note: fmt.Sprintf("%s (bound %s, %d starts)", note, b.cfg.Never, len(unzoned)),
		Goal: &Goal{Text: "never", Met: unzonedNever == len(unzoned)}})
	b.r.add(Figure{Scenario: "daemon", Name: fmt.Sprintf("daemon start to in-sync, %d containers", b.cfg.Running+1),
		Unit: "ms", Better: "lower", Zonewall: sum(Summarize([]float64{syncMs}))})
}
