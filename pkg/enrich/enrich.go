// Package enrich is the worker's Processor: it decodes a consumed record
// into an Event, runs the taggers over it, and encodes the enriched record
// for the output topic and, when a tagger flagged it, an escalation for the
// escalation topic. It owns the short per-entity history escalations carry.
// Kafka sessions, retries and dead-lettering belong to package pipeline.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/pkg/tag"
)

// DefaultMaxEntities bounds the entities whose recent events are kept for
// escalations; the least recently seen is forgotten first.
const DefaultMaxEntities = 100_000

// Config configures a Processor.
type Config struct {
	Decoder *codec.Decoder
	Encoder *codec.Encoder
	Taggers []tag.Tagger
	// EnrichedTopic and EscalationTopic are the output topics; required.
	EnrichedTopic   string
	EscalationTopic string
	// WorkerID goes into every record's provenance.
	WorkerID string
	// RecentEvents is how many earlier events of the entity an escalation
	// carries; 0 carries none.
	RecentEvents int
	// MaxEntities bounds the history; default DefaultMaxEntities.
	MaxEntities int
	// Metrics, to count escalations into; may be nil.
	Metrics *pipeline.Metrics
	// Now is the clock for provenance; default time.Now.
	Now func() time.Time
}

// Processor implements pipeline.Processor, and pipeline.Staged and
// pipeline.Recycler. It is safe for the concurrent calls the loop makes.
type Processor struct {
	cfg   Config
	items sync.Pool // of *item, recycled by the loop once it is done with them

	mu     sync.Mutex // guards recent
	recent *simplelru.LRU[string, *ring]
}

// New returns a Processor for cfg.
func New(cfg Config) (*Processor, error) {
	if cfg.Decoder == nil || cfg.Encoder == nil {
		return nil, errors.New("enrich: decoder and encoder are required")
	}
	if cfg.EnrichedTopic == "" || cfg.EscalationTopic == "" {
		return nil, errors.New("enrich: enriched and escalation topics are required")
	}
	if cfg.MaxEntities <= 0 {
		cfg.MaxEntities = DefaultMaxEntities
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Processor{cfg: cfg}
	if cfg.RecentEvents > 0 {
		lru, err := simplelru.NewLRU[string, *ring](cfg.MaxEntities, nil)
		if err != nil {
			return nil, fmt.Errorf("enrich: %w", err)
		}
		p.recent = lru
	}
	return p, nil
}

// Process decodes r, tags it and returns the enriched record, plus the
// escalation when a tagger flagged it. Both are keyed by entity and carry
// r's headers. A permanent decode failure is a *pipeline.Rejection with
// the codec's reason. It is Decode, Apply and Encode in turn.
func (p *Processor) Process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	return pipeline.RunStages(ctx, p, r)
}

// now is the processing time of a record: the start of its batch when the
// loop says it, which spares a clock read per record, else Config.Now.
func (p *Processor) now(ctx context.Context) time.Time {
	if t, ok := pipeline.BatchTime(ctx); ok {
		return t
	}
	return p.cfg.Now()
}

// item is what the stages of one record share. It also holds the
// enriched output record, its value and the slice Encode returns, so that
// one item serves a record's whole trip, and, recycled, many records.
type item struct {
	en   record.Enriched
	esc  *record.Escalation // set by Apply when the record is flagged
	out  kgo.Record         // the enriched record, set by Encode
	outs [2]*kgo.Record     // backs Encode's result: out and the escalation
	buf  []byte             // out's value; kept across recycling
}

// maxItemBuf bounds the value buffer a recycled item keeps, so that one
// huge record does not pin its buffer in the pool.
const maxItemBuf = 64 << 10

// Decode reads r into an Event. It keeps no state.
func (p *Processor) Decode(ctx context.Context, r *kgo.Record) (any, error) {
	ev, err := p.cfg.Decoder.Decode(ctx, r.Value, codec.Meta{
		Topic:     r.Topic,
		Partition: r.Partition,
		Offset:    r.Offset,
		Timestamp: r.Timestamp,
	})
	if err != nil {
		var ce *codec.Error
		if errors.As(err, &ce) {
			return nil, pipeline.Reject(string(ce.Reason), err)
		}
		return nil, err
	}
	it, _ := p.items.Get().(*item)
	if it == nil {
		it = new(item)
	}
	it.en = record.Enriched{
		Event: ev,
		Provenance: record.Provenance{
			Topic:       r.Topic,
			Partition:   r.Partition,
			Offset:      r.Offset,
			WorkerID:    p.cfg.WorkerID,
			ProcessedAt: p.now(ctx),
		},
	}
	return it, nil
}

// Recycle takes back a value Decode returned, once the loop and the client
// are done with it and with the records Encode made from it (see
// pipeline.Recycler). It keeps the value's buffer and drops everything
// else, so that a pooled item holds no record's data alive.
func (p *Processor) Recycle(v any) {
	it := v.(*item)
	buf := it.buf[:0]
	if cap(buf) > maxItemBuf {
		buf = nil
	}
	*it = item{buf: buf}
	p.items.Put(it)
}

// Apply runs the taggers over the decoded event, in order, and, when one
// flags it, gathers the escalation's context: the entity's recent events
// and the taggers' baselines.
func (p *Processor) Apply(ctx context.Context, r *kgo.Record, v any) error {
	it := v.(*item)
	for _, t := range p.cfg.Taggers {
		if err := t.Tag(ctx, &it.en); err != nil {
			return fmt.Errorf("tagger %s: %w", t.Name(), err)
		}
	}
	entity := it.en.Event.Entity
	if it.en.Escalate {
		it.esc = &record.Escalation{Enriched: it.en, Recent: p.history(entity)}
		for _, t := range p.cfg.Taggers {
			if b, ok := t.(tag.Baseliner); ok {
				it.esc.Baselines = append(it.esc.Baselines, b.Baselines(entity)...)
			}
		}
		if p.cfg.Metrics != nil {
			p.cfg.Metrics.Escalated.WithLabelValues(r.Topic).Inc()
		}
	}
	p.remember(it.en.Event)
	return nil
}

// Encode writes the enriched record and the escalation, if any. It keeps
// no state. It must be called at most once for a value from Decode: the
// enriched record it returns, and its value, live in that value.
func (p *Processor) Encode(ctx context.Context, r *kgo.Record, v any) ([]*kgo.Record, error) {
	it := v.(*item)
	val, err := p.cfg.Encoder.AppendEnriched(ctx, it.buf[:0], p.cfg.EnrichedTopic, &it.en)
	if err != nil {
		return nil, p.encodeErr(err)
	}
	it.buf = val
	// Inputs are commonly keyed by entity already; their key is shared
	// then, as the loop allows, rather than copied.
	key := r.Key
	if string(key) != it.en.Event.Entity {
		key = []byte(it.en.Event.Entity)
	}
	// The record's timestamp is the time in its provenance, which also
	// spares the client reading the clock for it.
	ts := it.en.Provenance.ProcessedAt
	it.out = kgo.Record{
		Topic: p.cfg.EnrichedTopic, Key: key, Value: val, Headers: r.Headers, Timestamp: ts,
	}
	outs := append(it.outs[:0], &it.out)
	if it.esc != nil {
		val, err := p.cfg.Encoder.Escalation(ctx, p.cfg.EscalationTopic, it.esc)
		if err != nil {
			return nil, p.encodeErr(err)
		}
		outs = append(outs, &kgo.Record{
			Topic: p.cfg.EscalationTopic, Key: key, Value: val, Headers: r.Headers, Timestamp: ts,
		})
	}
	return outs, nil
}

// encodeErr keeps transient encoder failures (a registry that is down)
// retryable and rejects the record for anything else: an event that
// cannot be written in the output schema will never be.
func (p *Processor) encodeErr(err error) error {
	if codec.IsPermanent(err) {
		return pipeline.Reject("encode", err)
	}
	return err
}

// ring holds the last events of one entity; it is allocated once per
// entity and overwritten in place.
type ring struct {
	events []record.Event // len == Config.RecentEvents
	next   int            // where the next event goes
	n      int            // events held, at most len(events)
}

// history returns the entity's remembered events, oldest first.
func (p *Processor) history(entity string) []record.Event {
	if p.recent == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.recent.Peek(entity)
	if !ok {
		return nil
	}
	out := make([]record.Event, 0, r.n)
	for i := r.n; i > 0; i-- {
		out = append(out, r.events[(r.next-i+len(r.events))%len(r.events)])
	}
	return out
}

func (p *Processor) remember(ev record.Event) {
	if p.recent == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.recent.Get(ev.Entity)
	if !ok {
		r = &ring{events: make([]record.Event, p.cfg.RecentEvents)}
		p.recent.Add(ev.Entity, r)
	}
	r.events[r.next] = ev
	r.next = (r.next + 1) % len(r.events)
	r.n = min(r.n+1, len(r.events))
}

// Stateful reports whether a tagger keeps state that must be checkpointed:
// only then does the worker need a state topic and the Processor's
// pipeline.Stateful methods.
func (p *Processor) Stateful() bool {
	for _, t := range p.cfg.Taggers {
		if _, ok := t.(tag.Stateful); ok {
			return true
		}
	}
	return false
}

// Checkpoint implements pipeline.Stateful: the changes of every stateful
// tagger, each key prefixed with the tagger's name and "/".
func (p *Processor) Checkpoint() []pipeline.StateEntry {
	var es []pipeline.StateEntry
	for _, t := range p.cfg.Taggers {
		st, ok := t.(tag.Stateful)
		if !ok {
			continue
		}
		prefix := t.Name() + "/"
		st.Checkpoint(func(topic string, partition int32, key string, value []byte) {
			es = append(es, pipeline.StateEntry{
				Topic: topic, Partition: partition, Key: prefix + key, Value: value,
			})
		})
	}
	return es
}

// Restore implements pipeline.Stateful: it hands each stateful tagger the
// entries under its prefix. The entries are read once per tagger.
func (p *Processor) Restore(topic string, partition int32,
	entries iter.Seq[pipeline.StateEntry]) error {
	for _, t := range p.cfg.Taggers {
		st, ok := t.(tag.Stateful)
		if !ok {
			continue
		}
		prefix := t.Name() + "/"
		mine := func(yield func(string, []byte) bool) {
			for e := range entries {
				if k, ok := strings.CutPrefix(e.Key, prefix); ok && !yield(k, e.Value) {
					return
				}
			}
		}
		if err := st.Restore(topic, partition, mine); err != nil {
			return fmt.Errorf("tagger %s: %w", t.Name(), err)
		}
	}
	return nil
}

// Revoke implements pipeline.Stateful.
func (p *Processor) Revoke(topic string, partition int32) {
	for _, t := range p.cfg.Taggers {
		if st, ok := t.(tag.Stateful); ok {
			st.Revoke(topic, partition)
		}
	}
}
