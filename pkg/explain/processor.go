package explain

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// Reasons the Processor gives for dead-lettering an escalation record.
const (
	// ReasonNotEscalation: the record decodes, but not as a
	// triage.Escalation.
	ReasonNotEscalation = "not_escalation"
	// ReasonBadEscalation: the record is a triage.Escalation that does
	// not read as one.
	ReasonBadEscalation = "bad_escalation"
)

// Processor adapts a Service to the pipeline loop: it reads escalation
// records, and on each Tick writes Explanation records, keyed by incident
// id, to its topic. It implements pipeline.Processor, pipeline.Ticker and
// pipeline.Stateful, and like the Service it must be driven from the
// loop's goroutine.
type Processor struct {
	svc   *Service
	dec   *codec.Decoder
	enc   *codec.Encoder
	topic string
	log   *zap.Logger
	now   func() time.Time
}

var (
	_ pipeline.Stateful = (*Processor)(nil)
	_ pipeline.Ticker   = (*Processor)(nil)
)

// NewProcessor returns a processor that feeds svc from records dec
// decodes and writes explanations, encoded by enc, to topic.
func NewProcessor(svc *Service, dec *codec.Decoder, enc *codec.Encoder, topic string,
) *Processor {
	return &Processor{svc: svc, dec: dec, enc: enc, topic: topic, log: svc.log, now: time.Now}
}

// Process adds the escalation in r to its incident and produces nothing.
// A record that is not a triage.Escalation is rejected; a schema registry
// that cannot be reached is a transient error.
func (p *Processor) Process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	name, v, err := p.dec.Native(ctx, r.Value)
	if err != nil {
		var cerr *codec.Error
		if errors.As(err, &cerr) {
			return nil, pipeline.Reject(string(cerr.Reason), err)
		}
		return nil, err
	}
	if name != schemas.EscalationName {
		return nil, pipeline.Reject(ReasonNotEscalation,
			fmt.Errorf("record of schema %q, want %s", name, schemas.EscalationName))
	}
	esc, err := record.EscalationFromNative(v)
	if err != nil {
		return nil, pipeline.Reject(ReasonBadEscalation, err)
	}
	ref := record.EscalationRef{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		EventID: esc.Enriched.Event.ID,
	}
	p.svc.Add(ref, &esc, p.now())
	return nil, nil
}

// Tick returns the explanations ready at now as records for the next
// transaction; see Service.Tick. When an explanation fails to encode
// (the schema registry is down), Tick returns the records encoded before
// it and logs the error, or returns the error when there are none; the
// explanation is offered again at the next Tick.
func (p *Processor) Tick(ctx context.Context, now time.Time) ([]*kgo.Record, error) {
	var out []*kgo.Record
	err := p.svc.Tick(ctx, now, func(x record.Explanation) error {
		val, err := p.enc.Explanation(ctx, p.topic, &x)
		if err != nil {
			return fmt.Errorf("unable to encode the explanation of %s: %w", x.IncidentID, err)
		}
		out = append(out, &kgo.Record{
			Topic: p.topic, Key: []byte(x.IncidentID), Value: val, Timestamp: p.now(),
		})
		return nil
	})
	if err != nil && len(out) > 0 {
		p.log.Warn("explanation not written, retrying at the next tick", zap.Error(err))
		err = nil
	}
	return out, err
}

// NextTick returns when Tick next has work; see Service.NextTick. The loop
// may use it to tick sooner than its interval.
func (p *Processor) NextTick(now time.Time) (time.Time, bool) { return p.svc.NextTick(now) }

// Checkpoint returns the incidents changed since the last call. An
// incident that fails to encode is logged and left for the next call.
func (p *Processor) Checkpoint() []pipeline.StateEntry {
	entries, err := p.svc.Checkpoint()
	if err != nil {
		p.log.Error("incident state not checkpointed", zap.Error(err))
	}
	return entries
}

// Restore replaces a partition's incidents with those of its state. An
// entry that does not decode is logged and skipped, so that one bad entry
// does not stop the partition; the others are restored.
func (p *Processor) Restore(
	topic string, partition int32, entries iter.Seq[pipeline.StateEntry],
) error {
	if err := p.svc.Restore(topic, partition, entries); err != nil {
		if !errors.Is(err, ErrBadState) {
			return err
		}
		p.log.Error("incident state entries skipped", zap.String("topic", topic),
			zap.Int32("partition", partition), zap.Error(err))
	}
	return nil
}

// Revoke forgets a partition's incidents.
func (p *Processor) Revoke(topic string, partition int32) { p.svc.Revoke(topic, partition) }
