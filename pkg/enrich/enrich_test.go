package enrich

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/pkg/tag"
)

// baselines is a tagger that flags every event whose "x" metric is over 10
// and knows one baseline per entity.
type baselines struct{}

func (baselines) Name() string { return "test" }

func (baselines) Tag(_ context.Context, e *record.Enriched) error {
	if x, _ := e.Event.Metrics.Get("x"); x > 10 {
		e.Flag("x too high")
	}
	return nil
}

func (baselines) Baselines(entity string) []record.Baseline {
	return []record.Baseline{{Metric: "x", Expected: 5, Lower: 0, Upper: 10, Samples: 7}}
}

func newProcessor(t *testing.T, recent int) (*Processor, *codec.Encoder, *codec.Decoder) {
	t.Helper()
	dec, err := codec.NewDecoder(codec.DecoderOptions{Mapping: config.Default().Input.Mapping})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := codec.NewEncoder(codec.EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{
		Decoder: dec, Encoder: enc,
		Taggers:         []tag.Tagger{tag.PassThrough{}, baselines{}},
		EnrichedTopic:   "out",
		EscalationTopic: "esc",
		WorkerID:        "w1",
		RecentEvents:    recent,
		Now:             func() time.Time { return time.Unix(1700000000, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, enc, dec
}

func input(t *testing.T, enc *codec.Encoder, offset int64, entity string, x float64) *kgo.Record {
	t.Helper()
	ev := record.Event{
		ID: fmt.Sprintf("e%d", offset), Entity: entity, Source: "s",
		Time:    time.UnixMilli(1700000000000 + offset),
		Metrics: record.MetricsOf(map[string]float64{"x": x}),
	}
	v, err := enc.Event(context.Background(), "in", &ev)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: "in", Partition: 2, Offset: offset, Value: v,
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}}}
}

func TestProcessEscalatesWithContext(t *testing.T) {
	p, enc, dec := newProcessor(t, 3)
	ctx := context.Background()
	for i := int64(0); i < 5; i++ {
		outs, err := p.Process(ctx, input(t, enc, i, "svc", 1))
		if err != nil || len(outs) != 1 {
			t.Fatalf("record %d: got %d outputs and %v, want 1 enriched record", i, len(outs), err)
		}
	}
	outs, err := p.Process(ctx, input(t, enc, 5, "svc", 50))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 || outs[0].Topic != "out" || outs[1].Topic != "esc" {
		t.Fatalf("got %d outputs, want the enriched record then the escalation", len(outs))
	}
	for _, o := range outs {
		if string(o.Key) != "svc" {
			t.Errorf("%s: key %q, want the entity", o.Topic, o.Key)
		}
		if len(o.Headers) != 1 || o.Headers[0].Key != "trace" {
			t.Errorf("%s: headers %v, want the input's", o.Topic, o.Headers)
		}
	}
	_, native, err := dec.Native(ctx, outs[1].Value)
	if err != nil {
		t.Fatal(err)
	}
	esc, err := record.EscalationFromNative(native)
	if err != nil {
		t.Fatal(err)
	}
	if len(esc.Recent) != 3 || esc.Recent[0].ID != "e2" || esc.Recent[2].ID != "e4" {
		var ids []string
		for _, e := range esc.Recent {
			ids = append(ids, e.ID)
		}
		t.Errorf("recent events %v, want the last 3 before the flagged one: [e2 e3 e4]", ids)
	}
	if len(esc.Baselines) != 1 || esc.Baselines[0].Samples != 7 {
		t.Errorf("baselines %+v, want the tagger's", esc.Baselines)
	}
	pv := esc.Enriched.Provenance
	if pv.Topic != "in" || pv.Partition != 2 || pv.Offset != 5 || pv.WorkerID != "w1" {
		t.Errorf("provenance %+v, want in/2@5 by w1", pv)
	}
	if len(esc.Enriched.Reasons) != 1 || esc.Enriched.Reasons[0] != "x too high" {
		t.Errorf("reasons %q, want [x too high]", esc.Enriched.Reasons)
	}
}

func TestProcessKeepsHistoryPerEntityAndBounded(t *testing.T) {
	p, enc, _ := newProcessor(t, 2)
	ctx := context.Background()
	for i := int64(0); i < 10; i++ {
		entity := []string{"a", "b"}[i%2]
		if _, err := p.Process(ctx, input(t, enc, i, entity, 1)); err != nil {
			t.Fatal(err)
		}
	}
	for entity, want := range map[string][]string{"a": {"e6", "e8"}, "b": {"e7", "e9"}} {
		h := p.history(entity)
		if len(h) != 2 || h[0].ID != want[0] || h[1].ID != want[1] {
			t.Errorf("history of %s has %d events, want %v", entity, len(h), want)
		}
	}
}

func TestProcessRejectsWhatCannotBeDecoded(t *testing.T) {
	p, _, _ := newProcessor(t, 0)
	_, err := p.Process(context.Background(), &kgo.Record{Topic: "in", Value: []byte(`[1]`)})
	rej, ok := pipeline.AsRejection(err)
	if !ok {
		t.Fatalf("got %v, want a rejection", err)
	}
	if rej.Reason != string(codec.ReasonNotJSONObject) {
		t.Errorf("reason %q, want %q", rej.Reason, codec.ReasonNotJSONObject)
	}
}

func TestEncodeKeysByEntityAndStampsProcessingTime(t *testing.T) {
	p, enc, _ := newProcessor(t, 0)
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		key      []byte
		wantKeep bool
	}{
		{"an input keyed by its entity lends its key", []byte("svc"), true},
		{"an input keyed otherwise gets the entity", []byte("other"), false},
		{"an input without a key gets the entity", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := input(t, enc, 1, "svc", 50)
			in.Key = tt.key
			outs, err := p.Process(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(outs) != 2 {
				t.Fatalf("got %d outputs, want the enriched record and the escalation", len(outs))
			}
			for _, o := range outs {
				if string(o.Key) != "svc" {
					t.Errorf("%s: got key %q, want svc", o.Topic, o.Key)
				}
				if kept := len(tt.key) > 0 && &o.Key[0] == &tt.key[0]; kept != tt.wantKeep {
					t.Errorf("%s: got the input's key shared %v, want %v", o.Topic, kept,
						tt.wantKeep)
				}
				if want := time.Unix(1700000000, 0); !o.Timestamp.Equal(want) {
					t.Errorf("%s: got timestamp %v, want the processing time %v", o.Topic,
						o.Timestamp, want)
				}
			}
		})
	}
}

func TestRecycledItemsHoldNothingButTheirBuffer(t *testing.T) {
	p, enc, dec := newProcessor(t, 0)
	ctx := context.Background()
	in := input(t, enc, 1, "svc", 1)
	v, err := p.Decode(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, in, v); err != nil {
		t.Fatal(err)
	}
	outs, err := p.Encode(ctx, in, v)
	if err != nil || len(outs) != 1 {
		t.Fatalf("got %d outputs and %v, want 1 enriched record", len(outs), err)
	}
	want := bytes.Clone(outs[0].Value)
	p.Recycle(v)
	it := v.(*item)
	if !reflect.DeepEqual(*it, item{buf: it.buf}) || cap(it.buf) == 0 {
		t.Fatalf("recycled item: got %+v, want zero but for a kept buffer", *it)
	}

	// A later record gets an item, maybe this one, and its output is
	// written whole, whatever the buffer held before.
	in2 := input(t, enc, 2, "other", 2)
	v2, err := p.Decode(ctx, in2)
	if err != nil {
		t.Fatal(err)
	}
	outs2, err := p.Encode(ctx, in2, v2)
	if err != nil {
		t.Fatal(err)
	}
	_, native, err := dec.Native(ctx, outs2[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	en, err := record.EnrichedFromNative(native)
	if err != nil {
		t.Fatal(err)
	}
	if en.Event.ID != "e2" || en.Event.Entity != "other" || en.Provenance.Offset != 2 {
		t.Errorf("got event %s of %s at offset %d, want e2 of other at 2", en.Event.ID,
			en.Event.Entity, en.Provenance.Offset)
	}
	if bytes.Equal(want, outs2[0].Value) {
		t.Error("got the first record's output again, want the second's")
	}
}
