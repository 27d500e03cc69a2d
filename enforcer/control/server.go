package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Backend is what the daemon offers through the socket.
type Backend interface {
	Status() Status
	// Explain returns a *BadRequestError for input the operator must fix.
	Explain(ExplainRequest) (ExplainResult, error)
	Audit() Audit
	// Drops returns the recent drops, oldest first.
	Drops() []Drop
	// FollowDrops delivers new drops until ctx ends.
	FollowDrops(ctx context.Context) <-chan Drop
}

// ObservationsBackend is a Backend that records connections for `zonewall
// learn`; since > 0 keeps only what was seen in that last span.
type ObservationsBackend interface {
	Observations(since time.Duration) Observations
}

// BadRequestError is invalid input from the caller (exit code 1, not a daemon failure).
type BadRequestError struct{ Msg string }

func (e *BadRequestError) Error() string { return e.Msg }

// Paths of the control API.
const (
	pathStatus  = "/v1/status"
	pathExplain = "/v1/explain"
	pathAudit   = "/v1/audit"
	pathDrops   = "/v1/drops"
	pathObs     = "/v1/observations"
)

// Server serves a Backend on a unix socket.
type Server struct {
	log  *slog.Logger
	b    Backend
	ln   net.Listener
	http *http.Server
}

// Listen creates the socket at path (parent directory 0700, socket 0600),
// replacing a stale socket left by a previous daemon.
func Listen(path string, b Backend, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another daemon is serving it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale control socket: %w", err)
		}
	}
	// The umask makes the socket 0600 from its creation: no window where others can connect.
	ln, err := listenUnixPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket mode: %w", err)
	}
	s := &Server{log: log, b: b, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathStatus, s.status)
	mux.HandleFunc("POST "+pathExplain, s.explain)
	mux.HandleFunc("GET "+pathAudit, s.audit)
	mux.HandleFunc("GET "+pathDrops, s.drops)
	mux.HandleFunc("GET "+pathObs, s.observations)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Serve answers requests until Close; it returns nil after Close.
func (s *Server) Serve() error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops serving and removes the socket.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		err = s.http.Close()
	}
	return err
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.b.Status())
}
func (s *Server) audit(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.b.Audit())
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	var req ExplainRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad explain request: %v", err))
		return
	}
	res, err := s.b.Explain(req)
	var bad *BadRequestError
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, bad.Msg)
	case err != nil:
		s.log.Error("explain failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) observations(w http.ResponseWriter, r *http.Request) {
	ob, ok := s.b.(ObservationsBackend)
	if !ok {
		writeError(w, http.StatusNotImplemented, "this daemon records no observations")
		return
	}
	var since time.Duration
	if v := r.URL.Query().Get("since"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("since %q: want a duration such as 30m or 24h", v))
			return
		}
		since = d
	}
	writeJSON(w, http.StatusOK, ob.Observations(since))
}

// drops answers the recent drops that match the query (DropQuery) as
// NDJSON; with ?follow=1 it keeps the response open and streams every new
// matching drop as it happens.
func (s *Server) drops(w http.ResponseWriter, r *http.Request) {
	q, err := parseDropQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	follow := q.Follow
	var live <-chan Drop
	if follow {
		// Subscribe before reading the backlog so nothing falls between the two.
		live = s.b.FollowDrops(r.Context())
	}
	for _, d := range q.Select(s.b.Drops()) {
		if err := enc.Encode(d); err != nil {
			return
		}
	}
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	if !follow {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case d, ok := <-live:
			if !ok {
				return
			}
			if !q.Match(d) {
				continue
			}
			if err := enc.Encode(d); err != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
