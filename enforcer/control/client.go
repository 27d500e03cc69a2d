package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// ErrUnreachable means no daemon answers on the socket.
var ErrUnreachable = errors.New("cannot reach the daemon")

// UnreachableError says which socket could not be reached.
type UnreachableError struct {
	Socket string
	Err    error
}

func (e *UnreachableError) Error() string {
	if errors.Is(e.Err, syscall.EACCES) {
		return fmt.Sprintf("cannot reach the daemon at %s: permission denied (the socket is root's)", e.Socket)
	}
	return fmt.Sprintf("cannot reach the daemon at %s: is zonewall run running?", e.Socket)
}
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// Client talks to the daemon's control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		DisableCompression: true,
	}
	return &Client{socket: path, hc: &http.Client{Transport: tr}}
}

// Status fetches the daemon's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, pathStatus, nil, &s)
}

// Explain asks for a verdict. Invalid input comes back as *BadRequestError.
func (c *Client) Explain(ctx context.Context, req ExplainRequest) (ExplainResult, error) {
	var r ExplainResult
	return r, c.do(ctx, http.MethodPost, pathExplain, req, &r)
}

// Audit fetches the audit findings.
func (c *Client) Audit(ctx context.Context) (Audit, error) {
	var a Audit
	return a, c.do(ctx, http.MethodGet, pathAudit, nil, &a)
}

// Observations fetches the recorded connections; since > 0 keeps only those
// seen in that last span.
func (c *Client) Observations(ctx context.Context, since time.Duration) (Observations, error) {
	var o Observations
	path := pathObs
	if since > 0 {
		path += "?since=" + url.QueryEscape(since.String())
	}
	return o, c.do(ctx, http.MethodGet, path, nil, &o)
}

// Drops calls fn for every recent drop and, with follow, for every new one
// until ctx ends or the daemon goes away.
func (c *Client) Drops(ctx context.Context, follow bool, fn func(Drop) error) error {
	return c.DropsMatching(ctx, DropQuery{Follow: follow}, fn)
}

// DropsMatching is Drops for the drops q selects; the daemon filters them.
func (c *Client) DropsMatching(ctx context.Context, q DropQuery, fn func(Drop) error) error {
	path := pathDrops
	if v := q.values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var d Drop
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return fmt.Errorf("decode drop: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read drops: %w", err)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", path, err)
	}
	return nil
}

// send performs a request and turns error statuses into errors.
func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://zonewall"+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return nil, &UnreachableError{Socket: c.socket, Err: err}
		}
		return nil, fmt.Errorf("control socket %s: %w", c.socket, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb errorBody
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&eb)
	if eb.Error == "" {
		eb.Error = resp.Status
	}
	if resp.StatusCode == http.StatusBadRequest {
		return nil, &BadRequestError{Msg: eb.Error}
	}
	return nil, fmt.Errorf("daemon: %s", eb.Error)
}
