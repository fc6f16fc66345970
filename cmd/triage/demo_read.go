package main

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/demo"
	"github.com/streamtriage/triage/pkg/record"
)

// classSampleEvery is how often the reader decodes an enriched customer
// message for the class mix: one in classSampleEvery, each counted for
// that many.
const classSampleEvery = 25

// read follows the demo's output topics, read committed, until ctx ends:
// it counts the enriched and dead-lettered records, decodes the enriched
// records of the services and merchants (whose anomaly series the
// dashboard draws) and a sample of the customer messages (for the class
// mix), and hands every escalation and explanation to the tracker and the
// dashboard.
func (r *demoRun) read(ctx context.Context) {
	c := r.cfg
	cl := mustClient(kgo.SeedBrokers(r.brokers...),
		kgo.ConsumeTopics(c.Output.EnrichedTopic, c.Output.EscalationTopic,
			c.Output.DeadLetterTopic, c.Explainer.ExplanationsTopic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	dec, err := codec.NewDecoder(codec.DecoderOptions{})
	if err != nil {
		panic("a decoder of the built-in schemas always builds: " + err.Error())
	}
	metricEntities := map[string]bool{}
	for _, e := range append(demo.Services(), demo.Merchants()...) {
		metricEntities[e] = true
	}
	var messages int64
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		now := time.Now()
		fs.EachRecord(func(rec *kgo.Record) {
			switch rec.Topic {
			case c.Output.DeadLetterTopic:
				r.deadLetters.Add(1)
			case c.Output.EnrichedTopic:
				r.enriched.Add(1)
				if metricEntities[string(rec.Key)] {
					if e, ok := decodeEnriched(ctx, dec, rec.Value); ok {
						r.dash.Enriched(&e)
					}
					return
				}
				if messages++; messages%classSampleEvery == 0 {
					if e, ok := decodeEnriched(ctx, dec, rec.Value); ok {
						label := "(no class)"
						if e.Classification != nil {
							label = e.Classification.Label
						}
						r.dash.Class(label, classSampleEvery)
					}
				}
			case c.Output.EscalationTopic:
				_, native, err := dec.Native(ctx, rec.Value)
				if err != nil {
					return
				}
				esc, err := record.EscalationFromNative(native)
				if err != nil {
					return
				}
				ev := &esc.Enriched.Event
				r.tracker.Escalation(ev.ID, ev.Entity, esc.Enriched.Reasons, ev.Time, now)
			case c.Explainer.ExplanationsTopic:
				_, native, err := dec.Native(ctx, rec.Value)
				if err != nil {
					return
				}
				x, err := record.ExplanationFromNative(native)
				if err != nil {
					return
				}
				r.explanations.Add(1)
				r.costMicros.Add(int64(x.CostUSD * 1e6))
				ids := r.tracker.Explanation(&x, now)
				r.dash.Explanation(x, slices.Clip(ids), now)
			}
		})
	}
}

// decodeEnriched decodes an enriched record, reporting false for one it
// cannot read.
func decodeEnriched(ctx context.Context, dec *codec.Decoder, v []byte) (record.Enriched, bool) {
	_, native, err := dec.Native(ctx, v)
	if err != nil {
		return record.Enriched{}, false
	}
	e, err := record.EnrichedFromNative(native)
	return e, err == nil
}
