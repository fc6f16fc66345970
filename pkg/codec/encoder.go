package codec

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// EncoderOptions configures an Encoder. The zero value writes Avro
// single-object encoding.
type EncoderOptions struct {
	// Registry, when set, makes the encoder write the Confluent wire
	// format: each output schema is registered under the subject
	// "<topic>-value" (the topic name strategy) on first use.
	Registry *sr.Client
}

// Encoder writes triage's records in their built-in schemas. It is safe
// for concurrent use.
type Encoder struct {
	registry *sr.Client
	ids      *cache[subjectSchema, int] // registered ids; only successes are kept
}

type subjectSchema struct {
	subject string
	schema  string // full name
}

// NewEncoder returns an encoder. It does not contact the registry; the
// first record of each topic and schema does.
func NewEncoder(o EncoderOptions) (*Encoder, error) {
	return &Encoder{registry: o.Registry, ids: newCache[subjectSchema, int]()}, nil
}

// Event encodes v as a triage.Event for topic.
//
// Without a registry the result is single-object encoded and nothing blocks.
// With one, the first call for a topic registers the schema, once however
// many calls are concurrent, and the result is in the Confluent wire format.
// A value that does not fit the schema gives a *Error with ReasonEncode; a
// registry that cannot be reached an error wrapping ErrUnavailable; one
// that refuses the schema an error wrapping ErrSchemaRejected; and ctx
// ending while registering, ctx.Err(). The same holds for the other
// methods of Encoder.
func (e *Encoder) Event(ctx context.Context, topic string, v *record.Event) ([]byte, error) {
	return e.encode(ctx, topic, schemas.Event, schemas.EventName, v.Native())
}

// Enriched encodes v as a triage.EnrichedEvent for topic; see Event.
func (e *Encoder) Enriched(ctx context.Context, topic string, v *record.Enriched) ([]byte, error) {
	return e.encode(ctx, topic, schemas.EnrichedEvent, schemas.EnrichedEventName, v.Native())
}

// Escalation encodes v as a triage.Escalation for topic; see Event.
func (e *Encoder) Escalation(
	ctx context.Context, topic string, v *record.Escalation,
) ([]byte, error) {
	return e.encode(ctx, topic, schemas.Escalation, schemas.EscalationName, v.Native())
}

// Explanation encodes v as a triage.Explanation for topic; see Event.
func (e *Encoder) Explanation(
	ctx context.Context, topic string, v *record.Explanation,
) ([]byte, error) {
	return e.encode(ctx, topic, schemas.Explanation, schemas.ExplanationName, v.Native())
}

func (e *Encoder) encode(
	ctx context.Context, topic string, c *goavro.Codec, name string, native map[string]any,
) ([]byte, error) {
	if e.registry == nil {
		b, err := c.SingleFromNative(nil, native)
		if err != nil {
			return nil, &Error{ReasonEncode, fmt.Errorf("%s: %w", name, err)}
		}
		return b, nil
	}

	if topic == "" {
		return nil, errors.New("codec: a topic is needed to name the registry subject")
	}
	key := subjectSchema{subject: topic + "-value", schema: name}
	id, err := e.ids.get(ctx, key, func(ctx context.Context) (int, error) {
		id, err := e.registry.RegisterSchema(ctx, key.subject,
			sr.Schema{Schema: c.Schema(), Type: sr.TypeAvro}, -1, -1)
		if err != nil {
			return 0, registerError(ctx, key.subject, err)
		}
		return id, nil
	}, func(error) time.Duration { return 0 })
	if err != nil {
		return nil, err
	}

	var h sr.ConfluentHeader
	b, _ := h.AppendEncode(make([]byte, 0, 256), id, nil) // never fails
	b, err = c.BinaryFromNative(b, native)
	if err != nil {
		return nil, &Error{ReasonEncode, fmt.Errorf("%s: %w", name, err)}
	}
	return b, nil
}
