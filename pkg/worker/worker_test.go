package worker_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/zap/zaptest"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/pkg/worker"
	"github.com/streamtriage/triage/schemas"
)

func TestMain(m *testing.M) { kafkatest.Main(m) }

// testConfig is a worker configuration over fresh topics of c.
func testConfig(t *testing.T, c *kafkatest.Cluster) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.WorkerID = "test-worker"
	cfg.Kafka.Brokers = c.Brokers
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Input.Topics = []string{c.Topic(t, "in", 2, nil)}
	cfg.Input.Group = c.Group(t, "worker")
	cfg.Input.MaxRecordBytes = 4096
	cfg.Output.EnrichedTopic = c.Topic(t, "enriched", 2, nil)
	cfg.Output.EscalationTopic = c.Topic(t, "escalations", 2, nil)
	cfg.Output.DeadLetterTopic = c.Topic(t, "dlq", 1, nil)
	compact := "compact"
	cfg.Output.StateTopic = c.Topic(t, "state", 2, map[string]*string{"cleanup.policy": &compact})
	cfg.HTTP.Listen = ""
	above := 400.0
	cfg.Rules = []config.Rule{{Metric: "latency_ms", Above: &above}}
	return cfg
}

// runWorker runs a worker over cfg until the test ends.
func runWorker(t *testing.T, cfg config.Config) *worker.Worker {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config is invalid: %v", err)
	}
	w, err := worker.New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker Run returned %v, want nil", err)
		}
	})
	return w
}

func event(entity string, latency float64) record.Event {
	text := "card payment declined"
	return record.Event{
		ID:         "id-" + entity,
		Time:       time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Source:     "test",
		Entity:     entity,
		Text:       &text,
		Metrics:    record.MetricsOf(map[string]float64{"latency_ms": latency}),
		Attributes: record.AttributesOf(map[string]string{"region": "eu"}),
	}
}

func TestWorkerEnrichesAndEscalates(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		cfg := testConfig(t, c)
		enc, _ := codec.NewEncoder(codec.EncoderOptions{})
		in := cfg.Input.Topics[0]
		var rs []*kgo.Record
		for i, lat := range []float64{100, 120, 900} {
			ev := event("checkout", lat)
			ev.ID = ev.ID + string(rune('a'+i))
			v, err := enc.Event(context.Background(), in, &ev)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, &kgo.Record{Topic: in, Key: []byte(ev.Entity), Value: v})
		}
		rs = append(rs, &kgo.Record{Topic: in, Value: []byte(
			`{"id":"j1","entity":"search","event_time":"2026-03-01T12:00:01Z",` +
				`"metrics":{"latency_ms":50},"attributes":{"k":"v"}}`)})
		c.Produce(t, rs...)
		runWorker(t, cfg)

		dec, _ := codec.NewDecoder(codec.DecoderOptions{Mapping: cfg.Input.Mapping})
		enriched := c.ReadAll(t, cfg.Output.EnrichedTopic, 4, time.Minute)
		if len(enriched) != 4 {
			t.Fatalf("got %d enriched records, want 4", len(enriched))
		}
		for _, r := range enriched {
			name, native, err := dec.Native(context.Background(), r.Value)
			if err != nil {
				t.Fatalf("enriched record does not decode: %v", err)
			}
			if name != schemas.EnrichedEventName {
				t.Errorf("enriched record schema %q, want %q", name, schemas.EnrichedEventName)
			}
			en, err := record.EnrichedFromNative(native)
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Key) != en.Event.Entity {
				t.Errorf("key %q, want the entity %q", r.Key, en.Event.Entity)
			}
			if en.Provenance.WorkerID != "test-worker" || en.Provenance.Topic != in {
				t.Errorf("provenance %+v, want worker test-worker and topic %s",
					en.Provenance, in)
			}
			wantEsc := latency(en.Event) > 400
			if en.Escalate != wantEsc {
				t.Errorf("event %s with latency %v: escalate=%v, want %v", en.Event.ID,
					latency(en.Event), en.Escalate, wantEsc)
			}
		}

		escs := c.ReadAll(t, cfg.Output.EscalationTopic, 1, time.Minute)
		if len(escs) != 1 {
			t.Fatalf("got %d escalations, want 1", len(escs))
		}
		_, native, err := dec.Native(context.Background(), escs[0].Value)
		if err != nil {
			t.Fatal(err)
		}
		esc, err := record.EscalationFromNative(native)
		if err != nil {
			t.Fatal(err)
		}
		if len(esc.Enriched.Reasons) != 1 || esc.Enriched.Reasons[0] != "rule: latency_ms > 400" {
			t.Errorf("escalation reasons %q, want [rule: latency_ms > 400]", esc.Enriched.Reasons)
		}
		if len(esc.Recent) != 2 {
			t.Errorf("escalation carries %d recent events of the entity, want 2", len(esc.Recent))
		}
	})
}

// confluent returns the Confluent wire format of an Avro binary payload.
func confluent(id int, payload []byte) []byte {
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return append(b, payload...)
}

func TestWorkerDeadLettersBadInput(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	srcl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		cfg := testConfig(t, c)
		cfg.SchemaRegistry.URL = reg.URL()
		in := cfg.Input.Topics[0]
		ctx := context.Background()
		soe, _ := codec.NewEncoder(codec.EncoderOptions{})
		viaRegistry, _ := codec.NewEncoder(codec.EncoderOptions{Registry: srcl})

		good := event("ledger", 10)
		goodSOE, err := soe.Event(ctx, in, &good)
		if err != nil {
			t.Fatal(err)
		}
		goodConfluent, err := viaRegistry.Event(ctx, in, &good)
		if err != nil {
			t.Fatal(err)
		}
		nan, inf := event("ledger", math.NaN()), event("ledger", math.Inf(1))
		nanVal, _ := soe.Event(ctx, in, &nan)
		infVal, _ := soe.Event(ctx, in, &inf)
		noEntity := event("", 10)
		noEntityVal, _ := soe.Event(ctx, in, &noEntity)

		bad := []struct {
			name   string
			value  []byte
			reason string
		}{
			{"truncated avro", goodSOE[:len(goodSOE)-6], "truncated_avro"},
			{"unknown fingerprint", append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8},
				goodSOE[10:]...), "unknown_fingerprint"},
			{"unknown registry id", confluent(987654, goodSOE[10:]), "unknown_schema_id"},
			{"json that is not an object", []byte(`["entity","x"]`), "not_json_object"},
			{"missing entity (json)", []byte(`{"id":"1","metrics":{"latency_ms":1}}`),
				"missing_entity"},
			{"missing entity (avro)", noEntityVal, "missing_entity"},
			{"invalid utf-8 text", []byte("{\"entity\":\"e\",\"text\":\"bad \xff\xfe\"}"),
				"invalid_utf8"},
			{"nan metric", nanVal, "invalid_metric"},
			{"inf metric", infVal, "invalid_metric"},
			{"record over the size limit", append([]byte(`{"entity":"e","text":"`),
				make([]byte, 5000)...), pipeline.ReasonTooLarge},
			{"empty value", nil, "empty_value"},
		}
		var rs []*kgo.Record
		for _, b := range bad {
			rs = append(rs, &kgo.Record{Topic: in, Key: []byte("k"), Value: b.value},
				&kgo.Record{Topic: in, Key: []byte("k"), Value: goodSOE})
		}
		rs = append(rs, &kgo.Record{Topic: in, Key: []byte("k"), Value: goodConfluent})
		c.Produce(t, rs...)
		runWorker(t, cfg)

		dead := c.ReadAll(t, cfg.Output.DeadLetterTopic, len(bad), time.Minute)
		if len(dead) != len(bad) {
			t.Fatalf("got %d dead letters, want %d", len(dead), len(bad))
		}
		for i, r := range dead {
			reason, _ := pipeline.Header(r, pipeline.HeaderReason)
			msg, _ := pipeline.Header(r, pipeline.HeaderError)
			if reason != bad[i].reason {
				t.Errorf("%s: reason %q (%s), want %q", bad[i].name, reason, msg, bad[i].reason)
			}
			if len(msg) <= len(reason) {
				t.Errorf("%s: error header %q says no more than the reason", bad[i].name, msg)
			}
			if string(r.Value) != string(bad[i].value) {
				t.Errorf("%s: dead letter value differs from the original bytes", bad[i].name)
			}
		}
		// The worker kept going: every good record after a bad one came out.
		ok := c.ReadAll(t, cfg.Output.EnrichedTopic, len(bad)+1, time.Minute)
		if len(ok) != len(bad)+1 {
			t.Errorf("got %d enriched records, want %d", len(ok), len(bad)+1)
		}
	})
}

// flakyRegistry puts a switch in front of a schema registry: while down it
// answers 503 to everything.
type flakyRegistry struct {
	down  atomic.Bool
	calls atomic.Int64
	srv   *httptest.Server
}

func newFlakyRegistry(t *testing.T, target string) *flakyRegistry {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &flakyRegistry{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.down.Load() {
			http.Error(w, "registry down for the test", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func TestWorkerWaitsForARegistryThatIsDown(t *testing.T) {
	reg := srfake.New()
	t.Cleanup(reg.Close)
	srcl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		flaky := newFlakyRegistry(t, reg.URL())
		cfg := testConfig(t, c)
		cfg.SchemaRegistry.URL = flaky.srv.URL
		in := cfg.Input.Topics[0]
		enc, _ := codec.NewEncoder(codec.EncoderOptions{Registry: srcl})
		ev := event("payments", 10)
		val, err := enc.Event(context.Background(), in, &ev)
		if err != nil {
			t.Fatal(err)
		}

		flaky.down.Store(true)
		c.Produce(t, &kgo.Record{Topic: in, Value: val})
		w := runWorker(t, cfg)

		// While the registry is down the record waits: the worker keeps
		// asking, says it is not ready, and writes nothing anywhere.
		deadline := time.Now().Add(30 * time.Second)
		for flaky.calls.Load() < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("worker asked the registry %d times in 30s, want retries",
					flaky.calls.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := w.Ready(); err == nil {
			t.Error("Ready() = nil while the registry is down, want the reason")
		}
		if got := c.ReadAll(t, cfg.Output.DeadLetterTopic, 1, time.Second); len(got) != 0 {
			t.Fatalf("record dead-lettered while the registry was down: %d dead letters", len(got))
		}

		flaky.down.Store(false)
		if got := c.ReadAll(t, cfg.Output.EnrichedTopic, 1, time.Minute); len(got) != 1 {
			t.Fatalf("got %d enriched records after the registry came back, want 1", len(got))
		}
		if got := c.ReadAll(t, cfg.Output.DeadLetterTopic, 1, time.Second); len(got) != 0 {
			t.Errorf("got %d dead letters, want none", len(got))
		}
	})
}

// get fetches url and returns the status code and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestWorkerServesHealthAndMetrics(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		cfg := testConfig(t, c)
		cfg.HTTP.Listen = "127.0.0.1:0"
		in := cfg.Input.Topics[0]
		enc, _ := codec.NewEncoder(codec.EncoderOptions{})
		var rs []*kgo.Record
		for _, lat := range []float64{10, 900} {
			ev := event("ledger", lat)
			v, _ := enc.Event(context.Background(), in, &ev)
			rs = append(rs, &kgo.Record{Topic: in, Key: []byte("ledger"), Value: v})
		}
		rs = append(rs, &kgo.Record{Topic: in, Key: []byte("ledger"), Value: []byte("[]")})
		c.Produce(t, rs...)
		w := runWorker(t, cfg)

		deadline := time.Now().Add(30 * time.Second)
		for w.HTTPAddr() == "" || w.Ready() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("worker not ready after 30s: %v", w.Ready())
			}
			time.Sleep(20 * time.Millisecond)
		}
		base := "http://" + w.HTTPAddr()
		if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz answered %d, want 200", code)
		}
		if code, body := get(t, base+"/readyz"); code != http.StatusOK {
			t.Errorf("/readyz answered %d (%s), want 200 once joined", code, body)
		}
		c.ReadAll(t, cfg.Output.EnrichedTopic, 2, time.Minute)
		c.ReadAll(t, cfg.Output.DeadLetterTopic, 1, time.Minute)

		// The counters move just after the commit that made the records
		// visible, so poll them.
		wants := []string{
			fmt.Sprintf(`triage_records_in_total{topic=%q} 3`, in),
			fmt.Sprintf(`triage_records_out_total{topic=%q} 2`, cfg.Output.EnrichedTopic),
			fmt.Sprintf(`triage_records_out_total{topic=%q} 1`, cfg.Output.EscalationTopic),
			fmt.Sprintf(`triage_records_escalated_total{topic=%q} 1`, in),
			fmt.Sprintf(`triage_records_dead_lettered_total{reason="not_json_object",topic=%q} 1`,
				in),
			`triage_batches_total{result="commit"}`,
			`triage_stage_duration_seconds_bucket{stage="commit"`,
			`triage_consumer_lag_records{partition=`,
			`kgo_`,
		}
		var missing []string
		for deadline := time.Now().Add(10 * time.Second); ; {
			_, metrics := get(t, base+"/metrics")
			missing = missing[:0]
			for _, want := range wants {
				if !strings.Contains(metrics, want) {
					missing = append(missing, want)
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, m := range missing {
			t.Errorf("/metrics lacks %s", m)
		}
	})
}

// latency returns the latency_ms metric of ev, 0 when it has none.
func latency(ev record.Event) float64 {
	v, _ := ev.Metrics.Get("latency_ms")
	return v
}
