// Package httpserver is the worker's HTTP listener for operators: /metrics
// for Prometheus, /healthz for liveness and /readyz for readiness. It owns
// the listener and its lifecycle; what is measured and what ready means are
// given to it. It should listen on 127.0.0.1 unless the operator chose
// otherwise, as the configuration's default does; RequireToken puts
// /metrics and /readyz behind a bearer token.
package httpserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Timeouts of the listener's connections. Scrapes and probes are small;
// anything slower is a stuck client.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
)

// Server serves /metrics, /healthz and /readyz on one address.
type Server struct {
	addr string
	log  *zap.Logger
	mux  *http.ServeMux
	srv  *http.Server

	mu sync.Mutex // guards ln and done
	ln net.Listener
	// done is closed by the serving goroutine when Serve returns; it is
	// created by Start, and Shutdown waits on it.
	done chan struct{}
	// serveErr is written by the serving goroutine before it closes done.
	serveErr error
}

// New returns a server for addr (host:port; port 0 picks a free one) that
// serves reg on /metrics, 200 on /healthz while the process runs, and on
// /readyz 200 when ready returns nil or 503 with the error's text when it
// does not. ready is called on every probe and must not block; nil means
// always ready. A nil reg serves an empty registry; a nil log discards.
//
// The endpoints answer GET and HEAD only. Nothing listens until Start.
func New(addr string, reg *prometheus.Registry, ready func() error, log *zap.Logger,
) *Server {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if ready == nil {
		ready = func() error { return nil }
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("http")

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(log),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		writeText(w, http.StatusOK, "ok")
	})

	return &Server{
		addr: addr,
		log:  log,
		mux:  mux,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: readHeaderTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          zap.NewStdLog(log),
		},
	}
}

// RequireToken makes /metrics and /readyz answer 401 to a request without
// the header "Authorization: Bearer token"; /healthz stays open, for
// liveness probes that carry no credentials. It must be called before
// Start. The token is compared in constant time and never logged.
func (s *Server) RequireToken(token string) {
	want := []byte("Bearer " + token)
	open := s.mux
	s.srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if r.URL.Path != "/healthz" && subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="triage"`)
			writeText(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		open.ServeHTTP(w, r)
	})
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, body+"\n")
}

// Start listens on the server's address and serves in a goroutine until
// Shutdown. It returns once the listener is bound, so Addr is known and
// requests are accepted; a second Start is an error.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("http server was already started")
	}

	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("unable to listen on %q: %w", s.addr, err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	s.log.Info("http listener started", zap.Stringer("addr", ln.Addr()))

	go func() {
		defer close(s.done)
		err := s.srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", zap.Error(err))
			s.serveErr = err
		}
	}()
	return nil
}

// Addr returns the address the server listens on, such as 127.0.0.1:40123
// for a configured 127.0.0.1:0, or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for requests in flight
// until ctx is done; then it closes the connections still open, so a
// handler stuck in ready finishes on a closed connection. It returns once
// the serving goroutine has exited: ctx's error if requests were still
// running at the deadline, else the serving error if the server had failed.
// Shutdown before Start does nothing; after Shutdown the server cannot be
// started again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done == nil {
		return nil
	}

	err := s.srv.Shutdown(ctx)
	if err != nil {
		// Cut the requests still running so that the goroutine exits.
		s.srv.Close()
	}
	<-done
	s.log.Info("http listener stopped", zap.String("addr", s.Addr()))
	if err != nil {
		return fmt.Errorf("http server shutdown: %w", err)
	}
	return s.serveErr
}
