package httpserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// start starts s and shuts it down at cleanup.
func start(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatalf("Start: got error %v, want none", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: got error %v, want none", err)
		}
	})
}

// get requests path from s with method and returns the status and body.
func get(t *testing.T, s *Server, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+s.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: got error %v, want a response", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: unable to read the body: %v", method, path, err)
	}
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	processed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "triage_records_processed_total",
		Help: "Records processed.",
	})
	reg.MustRegister(processed)
	processed.Add(3)

	var notReady atomic.Pointer[error]
	ready := func() error {
		if err := notReady.Load(); err != nil {
			return *err
		}
		return nil
	}
	s := New("127.0.0.1:0", reg, ready, zaptest.NewLogger(t))
	start(t, s)

	if addr := s.Addr(); addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("got address %q, want the bound port", addr)
	}

	for _, tt := range []struct {
		name     string
		method   string
		path     string
		notReady error
		code     int
		body     string
	}{
		{"healthz is ok", "GET", "/healthz", nil, 200, "ok\n"},
		{"healthz is ok while not ready", "GET", "/healthz",
			errors.New("no partitions assigned"), 200, "ok\n"},
		{"readyz is ok when ready", "GET", "/readyz", nil, 200, "ok\n"},
		{"readyz gives the reason when not ready", "GET", "/readyz",
			errors.New("no partitions assigned"), 503, "no partitions assigned\n"},
		{"metrics serves the registry", "GET", "/metrics", nil, 200,
			"triage_records_processed_total 3\n"},
		{"HEAD is answered", "HEAD", "/healthz", nil, 200, ""},
		{"POST is refused", "POST", "/healthz", nil, 405, ""},
		{"an unknown path is not found", "GET", "/", nil, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.notReady != nil {
				notReady.Store(&tt.notReady)
				defer notReady.Store(nil)
			}
			code, body := get(t, s, tt.method, tt.path)
			if code != tt.code {
				t.Errorf("got status %d, want %d", code, tt.code)
			}
			if tt.path == "/metrics" {
				if !strings.Contains(body, tt.body) {
					t.Errorf("got body %q, want it to contain %q", body, tt.body)
				}
			} else if tt.body != "" && body != tt.body {
				t.Errorf("got body %q, want %q", body, tt.body)
			}
		})
	}
}

func TestNilArguments(t *testing.T) {
	s := New("127.0.0.1:0", nil, nil, nil)
	start(t, s)

	for path, want := range map[string]int{"/readyz": 200, "/metrics": 200} {
		if code, _ := get(t, s, "GET", path); code != want {
			t.Errorf("GET %s: got status %d, want %d", path, code, want)
		}
	}
}

func TestStartErrors(t *testing.T) {
	s := New("127.0.0.1:0", nil, nil, zaptest.NewLogger(t))
	start(t, s)

	t.Run("a second Start fails", func(t *testing.T) {
		if err := s.Start(); err == nil {
			t.Error("got no error, want one")
		}
	})
	t.Run("an address in use is named", func(t *testing.T) {
		other := New(s.Addr(), nil, nil, zaptest.NewLogger(t))
		err := other.Start()
		if err == nil || !strings.Contains(err.Error(), s.Addr()) {
			t.Errorf("got error %v, want one naming %s", err, s.Addr())
		}
	})
}

func TestShutdown(t *testing.T) {
	t.Run("before Start it does nothing", func(t *testing.T) {
		s := New("127.0.0.1:0", nil, nil, nil)
		if err := s.Shutdown(t.Context()); err != nil {
			t.Errorf("got error %v, want none", err)
		}
	})

	t.Run("it closes the listener", func(t *testing.T) {
		s := New("127.0.0.1:0", nil, nil, zaptest.NewLogger(t))
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		addr := s.Addr()
		if err := s.Shutdown(t.Context()); err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			t.Errorf("got status %d after Shutdown, want the connection refused",
				resp.StatusCode)
		}
	})

	t.Run("a request in flight past the deadline is cut", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		entered := make(chan struct{})
		slow := func() error {
			close(entered)
			<-release
			return nil
		}
		s := New("127.0.0.1:0", nil, slow, zaptest.NewLogger(t))
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			resp, err := http.Get("http://" + s.Addr() + "/readyz")
			if err == nil {
				resp.Body.Close()
			}
		}()
		<-entered

		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got error %v, want %v", err, context.DeadlineExceeded)
		}
	})
}

func TestRequireTokenGuardsAllButHealthz(t *testing.T) {
	s := New("127.0.0.1:0", nil, nil, zaptest.NewLogger(t))
	s.RequireToken("s3cret")
	start(t, s)
	ask := func(path, auth string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			"http://"+s.Addr()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		path, auth string
		want       int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer wrong", http.StatusUnauthorized},
		{"/metrics", "s3cret", http.StatusUnauthorized},
		{"/metrics", "Bearer s3cret", http.StatusOK},
		{"/readyz", "", http.StatusUnauthorized},
		{"/readyz", "Bearer s3cret", http.StatusOK},
		{"/healthz", "", http.StatusOK},
	} {
		if got := ask(tt.path, tt.auth); got != tt.want {
			t.Errorf("GET %s with %q: got %d, want %d", tt.path, tt.auth, got, tt.want)
		}
	}
}
