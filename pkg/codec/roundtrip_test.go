package codec_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

func sampleEnriched() record.Enriched {
	return record.Enriched{
		Event:          sampleEvent(),
		Classification: &record.Classification{Label: "capacity", Confidence: 0.9, ModelVersion: "nb-1"},
		Anomaly: &record.Anomaly{Score: 0.8, Flagged: true, Metrics: []record.MetricAnomaly{
			{Metric: "disk_used", Value: 0.97, Expected: 0.6, Lower: 0.4, Upper: 0.8,
				Direction: record.DirectionUp, Contribution: 0.8},
		}},
		Escalate: true,
		Reasons:  []string{"anomaly"},
		Provenance: record.Provenance{
			Topic: "events", Partition: 2, Offset: 41, WorkerID: "w1", ProcessedAt: t0,
		},
	}
}

func sampleEscalation() record.Escalation {
	prev := sampleEvent()
	prev.ID, prev.Text = "e-0", nil
	return record.Escalation{
		Enriched: sampleEnriched(),
		Recent:   []record.Event{prev},
		Baselines: []record.Baseline{
			{Metric: "disk_used", Expected: 0.6, Lower: 0.4, Upper: 0.8, Samples: 60},
		},
	}
}

func sampleExplanation() record.Explanation {
	return record.Explanation{
		IncidentID: "inc-1", Entities: []string{"db-7"}, Start: t0, End: t0.Add(time.Minute),
		Summary: "Disk filling up.", ProbableCause: "Logs.", Evidence: []string{"disk_used 0.97"},
		SuggestedActions: []string{"rotate logs"}, Confidence: 0.7, Source: record.SourceModel,
		Model: "m-1", InputTokens: 10, OutputTokens: 5, CostUSD: 0.001, Latency: 250 * time.Millisecond,
		Escalations: []record.EscalationRef{{Topic: "events.escalations", Offset: 3, EventID: "e-1"}},
	}
}

// formats returns an encoder and a matching decoder for each output format.
func formats(t *testing.T) []struct {
	name  string
	magic byte
	enc   *codec.Encoder
	dec   *codec.Decoder
} {
	t.Helper()
	reg := newFakeRegistry(t).client(t)
	return []struct {
		name  string
		magic byte
		enc   *codec.Encoder
		dec   *codec.Decoder
	}{
		{"single-object", 0xC3, newEncoder(t, codec.EncoderOptions{}),
			newDecoder(t, codec.DecoderOptions{})},
		{"confluent", 0x00, newEncoder(t, codec.EncoderOptions{Registry: reg}),
			newDecoder(t, codec.DecoderOptions{Registry: reg})},
	}
}

func TestEventRoundTrip(t *testing.T) {
	noText := sampleEvent()
	noText.Text, noText.Metrics, noText.Attributes = nil, nil, nil

	for _, f := range formats(t) {
		for _, tt := range []struct {
			name string
			ev   record.Event
		}{
			{"a full event", sampleEvent()},
			{"an event without text, metrics or attributes", noText},
		} {
			t.Run(f.name+": "+tt.name+" comes back as it was", func(t *testing.T) {
				b, err := f.enc.Event(t.Context(), "events", &tt.ev)
				if err != nil {
					t.Fatal(err)
				}
				if b[0] != f.magic {
					t.Errorf("got first byte %#x, want %#x", b[0], f.magic)
				}
				got, err := f.dec.Decode(t.Context(), b, meta)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.ev) {
					t.Errorf("got %+v, want %+v", got, tt.ev)
				}
			})
		}
	}
}

// TestOutputRecordsRoundTrip writes each output record and reads it back
// with Native, as a tool printing a topic would.
func TestOutputRecordsRoundTrip(t *testing.T) {
	enr, esc, exp := sampleEnriched(), sampleEscalation(), sampleExplanation()
	for _, f := range formats(t) {
		for _, tt := range []struct {
			name   string
			schema string
			encode func() ([]byte, error)
			decode func(any) (any, error)
			want   any
		}{
			{
				"enriched", schemas.EnrichedEventName,
				func() ([]byte, error) { return f.enc.Enriched(t.Context(), "out", &enr) },
				func(v any) (any, error) { return record.EnrichedFromNative(v) },
				enr,
			},
			{
				"escalation", schemas.EscalationName,
				func() ([]byte, error) { return f.enc.Escalation(t.Context(), "esc", &esc) },
				func(v any) (any, error) { return record.EscalationFromNative(v) },
				esc,
			},
			{
				"explanation", schemas.ExplanationName,
				func() ([]byte, error) { return f.enc.Explanation(t.Context(), "exp", &exp) },
				func(v any) (any, error) { return record.ExplanationFromNative(v) },
				exp,
			},
		} {
			t.Run(f.name+": "+tt.name, func(t *testing.T) {
				b, err := tt.encode()
				if err != nil {
					t.Fatal(err)
				}
				name, v, err := f.dec.Native(t.Context(), b)
				if err != nil {
					t.Fatal(err)
				}
				if name != tt.schema {
					t.Errorf("got schema %q, want %q", name, tt.schema)
				}
				got, err := tt.decode(v)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		}
	}
}

func TestSingleObjectCarriesFingerprint(t *testing.T) {
	ev := sampleEvent()
	b, err := newEncoder(t, codec.EncoderOptions{}).Event(t.Context(), "", &ev)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xC3 || b[1] != 0x01 {
		t.Fatalf("got magic %#x %#x, want 0xc3 0x01", b[0], b[1])
	}
	if got := binary.LittleEndian.Uint64(b[2:10]); got != schemas.Event.Rabin {
		t.Errorf("got fingerprint %#016x, want %#016x", got, schemas.Event.Rabin)
	}
}

func TestConfluentUsesRegisteredID(t *testing.T) {
	reg := newFakeRegistry(t)
	// Take id 1 so the encoder's registration cannot get it by chance.
	if _, _, err := reg.RegisterSchema("other-value", schemaOf(t, `"string"`)); err != nil {
		t.Fatal(err)
	}
	enc := newEncoder(t, codec.EncoderOptions{Registry: reg.client(t)})
	ev := sampleEvent()
	for range 3 {
		b, err := enc.Event(t.Context(), "events", &ev)
		if err != nil {
			t.Fatal(err)
		}
		ss, ok := reg.GetSchema("events-value", 1)
		if !ok {
			t.Fatal("no schema registered under events-value")
		}
		if got := int(binary.BigEndian.Uint32(b[1:5])); b[0] != 0 || got != ss.ID {
			t.Errorf("got header %#x id %d, want 0x0 id %d", b[0], got, ss.ID)
		}
	}
	if got := reg.registrations.Load(); got != 1 {
		t.Errorf("got %d registrations for three records, want 1", got)
	}
}

func TestJSONDecodes(t *testing.T) {
	in := map[string]any{
		"id":         "e-1",
		"event_time": t0.Format(time.RFC3339Nano),
		"source":     "hosts",
		"entity":     "db-7",
		"text":       "disk almost full",
		"metrics":    map[string]any{"disk_used": 0.97, "latency_ms": 120.5},
		"attributes": map[string]any{"region": "eu-west-1"},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newDecoder(t, codec.DecoderOptions{}).Decode(t.Context(), b, meta)
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleEvent(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestEnrichedTopicThroughMapping reads the events inside an enriched topic
// with paths through the nested Avro record, its nullable text included.
func TestEnrichedTopicThroughMapping(t *testing.T) {
	enr := sampleEnriched()
	b, err := newEncoder(t, codec.EncoderOptions{}).Enriched(t.Context(), "out", &enr)
	if err != nil {
		t.Fatal(err)
	}
	dec := newDecoder(t, codec.DecoderOptions{Mapping: config.Mapping{
		ID: "event.id", EventTime: "event.event_time", Source: "event.source",
		Entity: "event.entity", Text: "event.text", Metrics: "event.metrics",
		Attributes: "event.attributes",
		MetricFields: map[string]string{
			"score":       "anomaly.score",
			"confidence":  "classification.confidence",
			"partition":   "provenance.partition",
			"not_present": "anomaly.nothing",
		},
	}})
	got, err := dec.Decode(t.Context(), b, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleEvent()
	metrics := metricsMap(want.Metrics)
	metrics["score"], metrics["confidence"], metrics["partition"] = 0.8, 0.9, 2
	want.Metrics = record.MetricsOf(metrics)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestAppendEnrichedAppendsWhatEnrichedReturns(t *testing.T) {
	ctx := t.Context()
	enc := newEncoder(t, codec.EncoderOptions{})
	en := sampleEnriched()
	want, err := enc.Enriched(ctx, "out", &en)
	if err != nil {
		t.Fatal(err)
	}
	prefix := []byte("kept")
	got, err := enc.AppendEnriched(ctx, prefix, "out", &en)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append([]byte("kept"), want...)) {
		t.Errorf("got %x, want %q then %x", got, prefix, want)
	}

	en.Anomaly = &record.Anomaly{Metrics: []record.MetricAnomaly{{Direction: "sideways"}}}
	got, err = enc.AppendEnriched(ctx, prefix, "out", &en)
	if !codec.IsPermanent(err) || !bytes.Equal(got, prefix) {
		t.Errorf("bad direction: got %q and %v, want %q and a permanent error", got, err, prefix)
	}
}
