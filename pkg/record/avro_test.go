package record

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/streamtriage/triage/schemas"
)

var (
	t0   = time.Date(2024, 5, 17, 10, 30, 0, 123e6, time.UTC)
	text = "disk almost full"
)

func fullEvent() Event {
	return Event{
		ID:         "e-1",
		Time:       t0,
		Source:     "hosts",
		Entity:     "db-7",
		Text:       &text,
		Metrics:    MetricsOf(map[string]float64{"disk_used": 0.97, "latency_ms": 120.5}),
		Attributes: AttributesOf(map[string]string{"region": "eu-west-1", "team": "storage"}),
	}
}

func fullEnriched() Enriched {
	return Enriched{
		Event:          fullEvent(),
		Classification: &Classification{Label: "capacity", Confidence: 0.91, ModelVersion: "nb-3"},
		Anomaly: &Anomaly{
			Score:   0.88,
			Flagged: true,
			Metrics: []MetricAnomaly{
				{"disk_used", 0.97, 0.6, 0.4, 0.8, DirectionUp, 0.7},
				{"latency_ms", 120.5, 100, 80, 140, DirectionNone, 0.1},
			},
		},
		Escalate: true,
		Reasons:  []string{"anomaly", "rule:disk_used>0.95"},
		Provenance: Provenance{
			Topic:       "events",
			Partition:   3,
			Offset:      1 << 40,
			WorkerID:    "worker-a",
			ProcessedAt: t0.Add(time.Second),
		},
	}
}

// roundTrip encodes native with c, decodes the binary back and returns the
// decoded native value.
func roundTrip(t *testing.T, c *goavro.Codec, native map[string]any) any {
	t.Helper()
	bin, err := c.BinaryFromNative(nil, native)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	back, rest, err := c.NativeFromBinary(bin)
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if len(rest) != 0 {
		t.Fatalf("got %d bytes left after decoding, want 0", len(rest))
	}
	return back
}

func TestEventRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Event
		want Event
	}{
		{"a full event comes back as it was", fullEvent(), fullEvent()},
		{
			"an event without text, metrics or attributes keeps them empty",
			Event{ID: "e-2", Time: t0, Source: "s", Entity: "x"},
			Event{ID: "e-2", Time: t0, Source: "s", Entity: "x"},
		},
		{
			"empty maps come back as nil and time in UTC milliseconds",
			Event{
				ID:         "e-3",
				Time:       t0.Add(456 * time.Microsecond).In(time.FixedZone("x", 3600)),
				Entity:     "x",
				Metrics:    MetricsOf(map[string]float64{}),
				Attributes: AttributesOf(map[string]string{}),
			},
			Event{ID: "e-3", Time: t0, Entity: "x"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EventFromNative(roundTrip(t, schemas.Event, tt.in.Native()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEnrichedRoundTrip(t *testing.T) {
	bare := fullEnriched()
	bare.Classification, bare.Anomaly, bare.Reasons, bare.Escalate = nil, nil, nil, false
	bare.Event.Text = nil

	noDirection := fullEnriched()
	noDirection.Anomaly.Metrics[1].Direction = ""
	noMetrics := fullEnriched()
	noMetrics.Anomaly.Metrics = nil

	for _, tt := range []struct {
		name string
		in   Enriched
		want Enriched
	}{
		{"a full enriched event comes back as it was", fullEnriched(), fullEnriched()},
		{"without classification, anomaly and reasons", bare, bare},
		{"a metric without direction comes back as none", noDirection, fullEnriched()},
		{"an anomaly without metrics", noMetrics, noMetrics},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EnrichedFromNative(roundTrip(t, schemas.EnrichedEvent, tt.in.Native()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEscalationRoundTrip(t *testing.T) {
	older := fullEvent()
	older.ID, older.Time, older.Text = "e-0", t0.Add(-time.Minute), nil
	full := Escalation{
		Enriched: fullEnriched(),
		Recent:   []Event{older, fullEvent()},
		Baselines: []Baseline{
			{Metric: "disk_used", Expected: 0.6, Lower: 0.4, Upper: 0.8, Samples: 1440},
		},
	}
	bare := Escalation{Enriched: fullEnriched()}
	bare.Enriched.Anomaly = nil

	for _, tt := range []struct {
		name string
		in   Escalation
	}{
		{"with recent events and baselines", full},
		{"without recent events, baselines or anomaly", bare},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EscalationFromNative(roundTrip(t, schemas.Escalation, tt.in.Native()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("got %+v, want %+v", got, tt.in)
			}
		})
	}
}

func TestExplanationRoundTrip(t *testing.T) {
	full := Explanation{
		IncidentID:       "inc-9",
		Entities:         []string{"db-7", "db-8"},
		Start:            t0,
		End:              t0.Add(5 * time.Minute),
		Summary:          "Disks filled up on two replicas.",
		ProbableCause:    "Log rotation stopped.",
		Evidence:         []string{"disk_used 0.97 against 0.6"},
		SuggestedActions: []string{"restart logrotate", "free space"},
		Confidence:       0.8,
		Source:           SourceModel,
		Model:            "small-llm-1",
		InputTokens:      1200,
		OutputTokens:     300,
		CostUSD:          0.0021,
		Latency:          1500 * time.Millisecond,
		Escalations: []EscalationRef{
			{Topic: "events.escalations", Partition: 1, Offset: 77, EventID: "e-1"},
		},
	}
	heuristic := Explanation{
		IncidentID: "inc-10",
		Start:      t0,
		End:        t0,
		Summary:    "One anomaly.",
		Source:     SourceHeuristic,
	}
	for _, tt := range []struct {
		name string
		in   Explanation
	}{
		{"a model's explanation comes back as it was", full},
		{"a heuristic one without model, lists or escalations", heuristic},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExplanationFromNative(roundTrip(t, schemas.Explanation, tt.in.Native()))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("got %+v, want %+v", got, tt.in)
			}
		})
	}
}

func TestFromNativeNamesTheBadField(t *testing.T) {
	e := fullEvent()
	ev := e.Native()
	ev["entity"] = 7

	en := fullEnriched()
	enr := en.Native()
	enr["classification"] = map[string]any{"string": "x"}

	esc := (&Escalation{Enriched: fullEnriched()}).Native()
	first := fullEvent()
	esc["recent"] = []any{first.Native(), "oops"}

	exp := (&Explanation{Source: SourceModel}).Native()
	exp["latency_ms"] = 1.5

	for _, tt := range []struct {
		name string
		conv func() error
		want string
	}{
		{"an event with a numeric entity", func() error {
			_, err := EventFromNative(ev)
			return err
		}, "event.entity: got int"},
		{"a value that is not a record", func() error {
			_, err := EventFromNative([]any{})
			return err
		}, "event: got []interface {}, want a record"},
		{"a classification union of the wrong branch", func() error {
			_, err := EnrichedFromNative(enr)
			return err
		}, "enriched.classification"},
		{"a recent event that is a string", func() error {
			_, err := EscalationFromNative(esc)
			return err
		}, "escalation.recent[1]: got string"},
		{"a fractional latency", func() error {
			_, err := ExplanationFromNative(exp)
			return err
		}, "explanation.latency_ms: got float64, want an integer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.conv()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
