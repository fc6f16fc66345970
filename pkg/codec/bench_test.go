package codec_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/streamtriage/triage/pkg/codec"
)

// BenchmarkDecode decodes the same event in each input format. The
// Confluent case has its schema cached, as in steady state.
func BenchmarkDecode(b *testing.B) {
	ctx := context.Background()
	ev := sampleEvent()

	reg := srfake.New()
	b.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		b.Fatal(err)
	}
	single, err := newEncoder(b, codec.EncoderOptions{}).Event(ctx, "events", &ev)
	if err != nil {
		b.Fatal(err)
	}
	wire, err := newEncoder(b, codec.EncoderOptions{Registry: cl}).Event(ctx, "events", &ev)
	if err != nil {
		b.Fatal(err)
	}
	text, err := json.Marshal(map[string]any{
		"id": ev.ID, "event_time": ev.Time.Format(time.RFC3339Nano), "source": ev.Source,
		"entity": ev.Entity, "text": *ev.Text, "metrics": metricsMap(ev.Metrics),
		"attributes": attributesMap(ev.Attributes),
	})
	if err != nil {
		b.Fatal(err)
	}
	dec := newDecoder(b, codec.DecoderOptions{Registry: cl})

	for _, bb := range []struct {
		name  string
		value []byte
	}{
		{"json", text},
		{"single_object", single},
		{"confluent", wire},
	} {
		b.Run(bb.name, func(b *testing.B) {
			if _, err := dec.Decode(ctx, bb.value, meta); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(bb.value)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dec.Decode(ctx, bb.value, meta); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode encodes the sample of each of triage's output records in
// single-object encoding, as the worker does without a registry.
func BenchmarkEncode(b *testing.B) {
	ctx := context.Background()
	enc := newEncoder(b, codec.EncoderOptions{})
	ev, en, esc := sampleEvent(), sampleEnriched(), sampleEscalation()
	for _, bb := range []struct {
		name   string
		encode func() ([]byte, error)
	}{
		{"event", func() ([]byte, error) { return enc.Event(ctx, "t", &ev) }},
		{"enriched", func() ([]byte, error) { return enc.Enriched(ctx, "t", &en) }},
		{"escalation", func() ([]byte, error) { return enc.Escalation(ctx, "t", &esc) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			v, err := bb.encode()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(v)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bb.encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
