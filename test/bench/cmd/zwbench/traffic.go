package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The traffic programs of the packet-path scenario. zwbench re-executes
// itself with `ip netns exec NS zwbench serve|load ...` so that server and
// client live in the fake containers' namespaces.

// loadResult is what `zwbench load` prints (one JSON line).
type loadResult struct {
	Mode    string  `json:"mode"`
	Ops     int64   `json:"ops"`   // completed connections (conn mode)
	Bytes   int64   `json:"bytes"` // bytes sent (bulk mode)
	Errors  int64   `json:"errors"`
	Seconds float64 `json:"seconds"`
}

// serveMain accepts connections forever: each one is echoed a byte per byte
// received (connection-rate mode) or drained (bulk mode), decided by the
// first byte the client sends.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return fmt.Errorf("accept: %w", err)
		}
		go serveConn(c)
	}
}

func serveConn(c net.Conn) {
	defer c.Close()
	// Only bulk connections get the big buffer: allocating and zeroing
	// 256 KiB per ping connection cost the server more CPU than the whole
	// packet path's netfilter work, diluting what the scenario measures.
	var small [64]byte
	n, err := c.Read(small[:1])
	if err != nil || n == 0 {
		return
	}
	if small[0] == 'b' {
		_, _ = io.CopyBuffer(io.Discard, c, make([]byte, 256<<10))
		return
	}
	// Request/response: answer the ping, then wait for the client's close.
	if _, err := c.Write(small[:1]); err != nil {
		return
	}
	_, _ = c.Read(small[:])
}

// loadMain drives the server for a fixed time and prints a loadResult.
func loadMain(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	addr := fs.String("addr", "", "server address")
	mode := fs.String("mode", "conn", "conn (new connections/s) or bulk (throughput)")
	dur := fs.Duration("duration", 2*time.Second, "how long")
	workers := fs.Int("workers", 8, "parallel connections (conn mode)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var res loadResult
	var err error
	switch *mode {
	case "conn":
		res = connRate(*addr, *dur, *workers)
	case "bulk":
		res, err = bulk(*addr, *dur)
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// connRate opens, pings and closes connections in a loop. The client closes
// with a reset (linger 0) so that neither side keeps TIME_WAIT sockets that
// would exhaust ephemeral ports; the router's conntrack timeouts are
// shortened for the same reason (see the field notes).
func connRate(addr string, dur time.Duration, workers int) loadResult {
	var ops, errs atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			one := []byte{'p'}
			for time.Now().Before(deadline) {
				if err := pingOnce(addr, one); err != nil {
					errs.Add(1)
					continue
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	return loadResult{Mode: "conn", Ops: ops.Load(), Errors: errs.Load(), Seconds: time.Since(start).Seconds()}
}

func pingOnce(addr string, b []byte) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	tc := c.(*net.TCPConn)
	defer tc.Close()
	_ = tc.SetLinger(0)
	_ = tc.SetDeadline(time.Now().Add(time.Second))
	if _, err := tc.Write(b); err != nil {
		return err
	}
	if _, err := io.ReadFull(tc, b); err != nil {
		return err
	}
	return nil
}

// bulk sends as fast as it can over one connection.
func bulk(addr string, dur time.Duration) (loadResult, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return loadResult{}, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	buf[0] = 'b'
	if _, err := c.Write(buf[:1]); err != nil {
		return loadResult{}, fmt.Errorf("write: %w", err)
	}
	var sent int64
	start := time.Now()
	deadline := start.Add(dur)
	for time.Now().Before(deadline) {
		n, err := c.Write(buf)
		sent += int64(n)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			return loadResult{}, fmt.Errorf("write: %w", err)
		}
	}
	return loadResult{Mode: "bulk", Bytes: sent, Seconds: time.Since(start).Seconds()}, nil
}

// probeMain exits 0 if a TCP connection to addr opens within the timeout.
func probeMain(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	addr := fs.String("addr", "", "address")
	timeout := fs.Duration("timeout", 500*time.Millisecond, "give up after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", *addr, *timeout)
	if err != nil {
		return fmt.Errorf("probe %s: %w", *addr, err)
	}
	return c.Close()
}
