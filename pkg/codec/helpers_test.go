package codec_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/record"
)

var (
	t0   = time.Date(2024, 5, 17, 10, 30, 0, 123e6, time.UTC)
	meta = codec.Meta{Topic: "events", Partition: 2, Offset: 41, Timestamp: t0.Add(time.Hour)}
)

func sampleEvent() record.Event {
	text := "disk almost full"
	return record.Event{
		ID:         "e-1",
		Time:       t0,
		Source:     "hosts",
		Entity:     "db-7",
		Text:       &text,
		Metrics:    record.MetricsOf(map[string]float64{"disk_used": 0.97, "latency_ms": 120.5}),
		Attributes: record.AttributesOf(map[string]string{"region": "eu-west-1"}),
	}
}

// fakeRegistry is an in-process schema registry that counts the schema
// lookups by id and the registrations it serves.
type fakeRegistry struct {
	*srfake.Registry
	lookups       atomic.Int64
	registrations atomic.Int64
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{Registry: srfake.New()}
	t.Cleanup(f.Close)
	f.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/schemas/ids/"):
			f.lookups.Add(1)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/subjects/"):
			f.registrations.Add(1)
		}
		return false
	})
	return f
}

func (f *fakeRegistry) client(t *testing.T) *sr.Client {
	t.Helper()
	return newClient(t, f.URL())
}

func newClient(t *testing.T, url string) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func newDecoder(t testing.TB, o codec.DecoderOptions) *codec.Decoder {
	t.Helper()
	d, err := codec.NewDecoder(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newEncoder(t testing.TB, o codec.EncoderOptions) *codec.Encoder {
	t.Helper()
	e, err := codec.NewEncoder(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// confluent frames an Avro binary body with a schema id.
func confluent(id int, body []byte) []byte {
	var h sr.ConfluentHeader
	b, _ := h.AppendEncode(nil, id, nil)
	return append(b, body...)
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func schemaOf(t *testing.T, text string) sr.Schema {
	t.Helper()
	return sr.Schema{Schema: text, Type: sr.TypeAvro}
}

// metricsMap returns m as a map, as JSON input and goavro carry metrics.
func metricsMap(m record.Metrics) map[string]float64 {
	out := make(map[string]float64, len(m))
	for _, x := range m {
		out[x.Name] = x.Value
	}
	return out
}

// attributesMap returns a as a map, as JSON input and goavro carry them.
func attributesMap(a record.Attributes) map[string]string {
	out := make(map[string]string, len(a))
	for _, x := range a {
		out[x.Key] = x.Value
	}
	return out
}
