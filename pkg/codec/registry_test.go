package codec_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/schemas"
)

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// answering returns the URL of a registry that answers every request with
// status and a registry-style error body.
func answering(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		w.WriteHeader(status)
		w.Write([]byte(`{"error_code": 50001, "message": "try later"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRegistryTroubleIsTransient(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  string
	}{
		{"a closed port", closedURL(t)},
		{"a registry answering 503", answering(t, http.StatusServiceUnavailable)},
		{"a registry answering 500", answering(t, http.StatusInternalServerError)},
		{"a registry answering 429", answering(t, http.StatusTooManyRequests)},
		{"a registry refusing our credentials", answering(t, http.StatusUnauthorized)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dec := newDecoder(t, codec.DecoderOptions{Registry: newClient(t, tt.url)})
			_, err := dec.Decode(t.Context(), confluent(1, []byte{0}), meta)
			if !errors.Is(err, codec.ErrUnavailable) {
				t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
			}
			if codec.IsPermanent(err) {
				t.Errorf("got IsPermanent true for %v, want false", err)
			}

			// Nothing is kept: the next record asks again, and fails again.
			_, err = dec.Decode(t.Context(), confluent(1, []byte{0}), meta)
			if !errors.Is(err, codec.ErrUnavailable) {
				t.Errorf("second try: got %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestRegistryResponseErrorIsReachable(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{
		Registry: newClient(t, answering(t, http.StatusServiceUnavailable)),
	})
	_, err := dec.Decode(t.Context(), confluent(1, []byte{0}), meta)
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("got %v, want it to wrap the registry's 503 answer", err)
	}
}

// blockingRegistry is a fake registry whose lookups by id wait until
// release is closed.
func blockingRegistry(t *testing.T) (*fakeRegistry, chan struct{}) {
	t.Helper()
	reg := newFakeRegistry(t)
	release := make(chan struct{})
	reg.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/schemas/ids/") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return false
	})
	return reg, release
}

func TestOneFetchPerID(t *testing.T) {
	reg, release := blockingRegistry(t)
	reg.SeedSchema("events-value", 1, 1, schemaOf(t, schemas.Event.Schema()))
	reg.SeedSchema("other-value", 1, 2, schemaOf(t, schemas.Event.Schema()))
	dec := newDecoder(t, codec.DecoderOptions{Registry: reg.client(t)})

	ev := sampleEvent()
	sof := singleObject(t, ev)
	body := sof[10:] // the Avro binary behind the single-object header

	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range 2 * n {
		wg.Go(func() {
			_, err := dec.Decode(t.Context(), confluent(1+i%2, body), meta)
			errs <- err
		})
	}
	waitFor(t, "both lookups to reach the registry", func() bool {
		return reg.lookups.Load() == 2
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := dec.Decode(t.Context(), confluent(1, body), meta); err != nil {
			t.Fatal(err)
		}
	}
	if got := reg.lookups.Load(); got != 2 {
		t.Errorf("got %d lookups for %d records of two ids, want 2", got, 2*n+3)
	}
}

func TestUnknownIDIsRemembered(t *testing.T) {
	reg := newFakeRegistry(t)
	dec := newDecoder(t, codec.DecoderOptions{Registry: reg.client(t)})
	for range 3 {
		_, err := dec.Decode(t.Context(), confluent(42, []byte{0}), meta)
		if codec.ReasonOf(err) != codec.ReasonUnknownSchemaID {
			t.Fatalf("got %v, want unknown_schema_id", err)
		}
	}
	if got := reg.lookups.Load(); got != 1 {
		t.Errorf("got %d lookups for three records of an unknown id, want 1", got)
	}
}

func TestCancelWhileFetching(t *testing.T) {
	reg, release := blockingRegistry(t)
	defer close(release)
	reg.SeedSchema("events-value", 1, 1, schemaOf(t, schemas.Event.Schema()))
	dec := newDecoder(t, codec.DecoderOptions{Registry: reg.client(t)})

	// The first caller runs the lookup and a second one waits for it; both
	// give up with their own ctx.
	ctx1, cancel1 := context.WithCancel(t.Context())
	ctx2, cancel2 := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	go func() {
		_, err := dec.Decode(ctx1, confluent(1, []byte{0}), meta)
		errs <- err
	}()
	waitFor(t, "the lookup to reach the registry", func() bool { return reg.lookups.Load() == 1 })
	go func() {
		_, err := dec.Decode(ctx2, confluent(1, []byte{0}), meta)
		errs <- err
	}()
	cancel2()
	if err := <-errs; err != context.Canceled {
		t.Errorf("waiting caller: got %v, want context.Canceled", err)
	}
	cancel1()
	if err := <-errs; err != context.Canceled {
		t.Errorf("fetching caller: got %v, want context.Canceled", err)
	}
}

func TestEncoderRegistryErrors(t *testing.T) {
	ev := sampleEvent()
	for _, tt := range []struct {
		name string
		url  string
		want error
	}{
		{"a closed port", closedURL(t), codec.ErrUnavailable},
		{"a registry answering 503", answering(t, http.StatusServiceUnavailable),
			codec.ErrUnavailable},
		{"a registry refusing an incompatible schema", answering(t, http.StatusConflict),
			codec.ErrSchemaRejected},
		{"a registry refusing our credentials", answering(t, http.StatusForbidden),
			codec.ErrSchemaRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			enc := newEncoder(t, codec.EncoderOptions{Registry: newClient(t, tt.url)})
			_, err := enc.Event(t.Context(), "events", &ev)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
			if codec.IsPermanent(err) {
				t.Errorf("got IsPermanent true for %v, want false", err)
			}
		})
	}
}

func TestEncoderRegistersOncePerSubject(t *testing.T) {
	reg := newFakeRegistry(t)
	enc := newEncoder(t, codec.EncoderOptions{Registry: reg.client(t)})
	ev := sampleEvent()
	enr := sampleEnriched()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := enc.Event(t.Context(), "a", &ev); err != nil {
				t.Error(err)
			}
			if _, err := enc.Event(t.Context(), "b", &ev); err != nil {
				t.Error(err)
			}
			if _, err := enc.Enriched(t.Context(), "b", &enr); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := reg.registrations.Load(); got != 3 {
		t.Errorf("got %d registrations, want 3 (a, b, and b again for a second schema)", got)
	}
	for _, subject := range []string{"a-value", "b-value"} {
		if !reg.SubjectExists(subject) {
			t.Errorf("subject %q was not registered", subject)
		}
	}
	if _, err := enc.Event(t.Context(), "", &ev); err == nil {
		t.Error("got no error for an empty topic with a registry, want one")
	}
}
