package explain

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// newTestProcessor returns a processor without a model writing to the
// topic "explanations".
func newTestProcessor(t *testing.T, cfg Config) (*Processor, *codec.Decoder, *codec.Encoder) {
	t.Helper()
	dec, err := codec.NewDecoder(codec.DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := codec.NewEncoder(codec.EncoderOptions{})
	svc := NewService(cfg, newExplainer(t, cfg))
	t.Cleanup(svc.Close)
	return NewProcessor(svc, dec, enc, "explanations"), dec, enc
}

// escalationRecord encodes esc as the worker writes it.
func escalationRecord(t *testing.T, enc *codec.Encoder, esc *record.Escalation, p int32,
	off int64) *kgo.Record {
	t.Helper()
	v, err := enc.Escalation(context.Background(), "escalations", esc)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: "escalations", Partition: p, Offset: off, Value: v,
		Key: []byte(esc.Enriched.Event.Entity)}
}

// decodeExplanations reads explanation records.
func decodeExplanations(t *testing.T, dec *codec.Decoder, rs []*kgo.Record,
) []record.Explanation {
	t.Helper()
	var out []record.Explanation
	for _, r := range rs {
		name, v, err := dec.Native(context.Background(), r.Value)
		if err != nil || name != schemas.ExplanationName {
			t.Fatalf("got schema %q, error %v, want %s", name, err, schemas.ExplanationName)
		}
		x, err := record.ExplanationFromNative(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != x.IncidentID || r.Topic != "explanations" {
			t.Errorf("got key %q on %s, want the incident id on explanations", r.Key, r.Topic)
		}
		out = append(out, x)
	}
	return out
}

func TestProcessorRoundTrip(t *testing.T) {
	cfg := testConfig("")
	p, dec, enc := newTestProcessor(t, cfg)
	ctx := context.Background()

	escs := checkoutBurst(3)
	for i, esc := range escs {
		out, err := p.Process(ctx, escalationRecord(t, enc, esc, 2, int64(10+i)))
		if err != nil || len(out) != 0 {
			t.Fatalf("Process: got %d records, %v; want none", len(out), err)
		}
	}
	if rs, _ := p.Tick(ctx, time.Now()); len(rs) != 0 {
		t.Fatalf("got %d explanations before the debounce, want 0", len(rs))
	}
	state := p.Checkpoint()
	rs, err := p.Tick(ctx, time.Now().Add(cfg.Incidents.Debounce))
	if err != nil {
		t.Fatal(err)
	}
	xs := decodeExplanations(t, dec, rs)
	if len(xs) != 1 {
		t.Fatalf("got %d explanations, want 1", len(xs))
	}
	x := xs[0]
	if x.IncidentID != IncidentID("escalations", 2, 10) || len(x.Escalations) != 3 ||
		x.Escalations[2] != (record.EscalationRef{Topic: "escalations", Partition: 2,
			Offset: 12, EventID: escs[2].Enriched.Event.ID}) {
		t.Errorf("got incident %s with refs %v", x.IncidentID, x.Escalations)
	}
	if x.Source != record.SourceHeuristic || x.Summary == "" {
		t.Errorf("got source %s and summary %q", x.Source, x.Summary)
	}

	t.Run("state from before the explanation explains it again after a restore",
		func(t *testing.T) {
			q, dec, _ := newTestProcessor(t, cfg)
			if err := q.Restore("escalations", 2, slices.Values(state)); err != nil {
				t.Fatal(err)
			}
			rs, _ := q.Tick(ctx, time.Now().Add(cfg.Incidents.Debounce))
			again := decodeExplanations(t, dec, rs)
			if len(again) != 1 || again[0].IncidentID != x.IncidentID {
				t.Errorf("got %v, want one explanation of %s", again, x.IncidentID)
			}
		})

	t.Run("state from after the explanation does not explain it again", func(t *testing.T) {
		after := p.Checkpoint()
		q, _, _ := newTestProcessor(t, cfg)
		if err := q.Restore("escalations", 2, slices.Values(append(state, after...))); err != nil {
			t.Fatal(err)
		}
		if rs, _ := q.Tick(ctx, time.Now().Add(cfg.Incidents.Debounce)); len(rs) != 0 {
			t.Errorf("got %d explanations, want 0", len(rs))
		}
	})

	t.Run("a bad state entry is skipped", func(t *testing.T) {
		q, _, _ := newTestProcessor(t, cfg)
		bad := append(slices.Clone(state), pipeline.StateEntry{Topic: "escalations",
			Partition: 2, Key: "x", Value: []byte("garbage")})
		if err := q.Restore("escalations", 2, slices.Values(bad)); err != nil {
			t.Errorf("got %v, want the bad entry skipped", err)
		}
		if q.svc.Store().Len() != 1 {
			t.Errorf("got %d incidents, want the good one", q.svc.Store().Len())
		}
	})
}

func TestProcessorRejects(t *testing.T) {
	p, _, enc := newTestProcessor(t, testConfig(""))
	ctx := context.Background()
	ev := checkoutBurst(1)[0].Enriched.Event
	event, _ := enc.Event(ctx, "events", &ev)
	for _, c := range []struct {
		name, reason string
		value        []byte
	}{
		{"an Event", ReasonNotEscalation, event},
		{"JSON", ReasonNotEscalation, []byte(`{"entity":"x"}`)},
		{"truncated Avro", string(codec.ReasonTruncatedAvro), event[:12]},
	} {
		t.Run(c.name+" is rejected", func(t *testing.T) {
			_, err := p.Process(ctx, &kgo.Record{Topic: "escalations", Value: c.value})
			rej, ok := pipeline.AsRejection(err)
			if !ok || rej.Reason != c.reason {
				t.Errorf("got %v, want a rejection for %s", err, c.reason)
			}
		})
	}
}

func TestServiceEmitFailureIsRetried(t *testing.T) {
	cfg := testConfig("")
	svc := NewService(cfg, newExplainer(t, cfg))
	t.Cleanup(svc.Close)
	var f feeder
	now := time.Now()
	for _, esc := range checkoutBurst(2) {
		svc.Add(f.ref(0, esc), esc, now)
	}
	fail := errors.New("registry down")
	err := svc.Tick(context.Background(), now.Add(time.Second), func(record.Explanation) error {
		return fail
	})
	if !errors.Is(err, fail) {
		t.Fatalf("got %v, want the emit error", err)
	}
	var got []record.Explanation
	err = svc.Tick(context.Background(), now.Add(2*time.Second), func(x record.Explanation) error {
		got = append(got, x)
		return nil
	})
	if err != nil || len(got) != 1 {
		t.Errorf("got %d explanations, %v, want the one that failed", len(got), err)
	}
}

func TestServiceRevokeDropsExplanationsInFlight(t *testing.T) {
	release := make(chan struct{})
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, _ map[string]any) {
		<-release
		writeCompletion(w, validAnswer())
	})
	t.Cleanup(func() { close(release) })
	cfg := testConfig(srv.URL())
	cfg.Incidents.TickWait = 0
	svc := NewService(cfg, newExplainer(t, cfg))
	t.Cleanup(svc.Close)

	var f feeder
	now := time.Now()
	for _, esc := range checkoutBurst(2) {
		svc.Add(f.ref(0, esc), esc, now)
	}
	var got []record.Explanation
	emit := func(x record.Explanation) error { got = append(got, x); return nil }
	svc.Tick(context.Background(), now.Add(time.Second), emit)
	deadline := time.Now().Add(5 * time.Second)
	for srv.requests() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if srv.requests() == 0 {
		t.Fatal("the explanation never reached the model")
	}

	svc.Revoke("escalations", 0)
	// The cancelled explanation ends as a heuristic; it must be dropped.
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		svc.mu.Lock()
		n := len(svc.ready)
		svc.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	svc.Tick(context.Background(), now.Add(2*time.Second), emit)
	if len(got) != 0 || svc.Store().Len() != 0 {
		t.Errorf("got %d explanations and %d incidents after the revoke, want none",
			len(got), svc.Store().Len())
	}
}
