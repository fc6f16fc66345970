package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
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
	return e.encodeDirect(ctx, topic, schemas.Event, schemas.EventName,
		func(b []byte) ([]byte, error) { return appendEvent(b, v), nil })
}

// Enriched encodes v as a triage.EnrichedEvent for topic; see Event.
func (e *Encoder) Enriched(ctx context.Context, topic string, v *record.Enriched) ([]byte, error) {
	return e.encodeDirect(ctx, topic, schemas.EnrichedEvent, schemas.EnrichedEventName,
		func(b []byte) ([]byte, error) { return appendEnriched(b, v) })
}

// AppendEnriched appends to dst what Enriched returns for v and topic, and
// returns the extended buffer, so that a caller can reuse one buffer for
// many records. On failure it returns dst unchanged, with the error.
func (e *Encoder) AppendEnriched(
	ctx context.Context, dst []byte, topic string, v *record.Enriched,
) ([]byte, error) {
	b, err := e.appendHeader(ctx, dst, topic, schemas.EnrichedEvent, schemas.EnrichedEventName)
	if err != nil {
		return dst, err
	}
	b, err = appendEnriched(b, v)
	if err != nil {
		return dst, &Error{ReasonEncode, fmt.Errorf("%s: %w", schemas.EnrichedEventName, err)}
	}
	return b, nil
}

// Escalation encodes v as a triage.Escalation for topic; see Event.
func (e *Encoder) Escalation(
	ctx context.Context, topic string, v *record.Escalation,
) ([]byte, error) {
	return e.encodeDirect(ctx, topic, schemas.Escalation, schemas.EscalationName,
		func(b []byte) ([]byte, error) { return appendEscalation(b, v) })
}

// Explanation encodes v as a triage.Explanation for topic; see Event.
func (e *Encoder) Explanation(
	ctx context.Context, topic string, v *record.Explanation,
) ([]byte, error) {
	return e.encode(ctx, topic, schemas.Explanation, schemas.ExplanationName, v.Native())
}

// scratch holds buffers the direct encoders write into before the result
// is copied out at its exact size. A buffer that grew past maxScratch is
// not kept; the one it grew from goes back instead.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxScratch = 64 << 10

// encodeDirect writes the header and then the datum with appendDatum, one
// of the direct encoders of recordencode.go.
func (e *Encoder) encodeDirect(
	ctx context.Context, topic string, c *goavro.Codec, name string,
	appendDatum func([]byte) ([]byte, error),
) ([]byte, error) {
	bp := scratch.Get().(*[]byte)
	b, err := e.appendHeader(ctx, (*bp)[:0], topic, c, name)
	if err == nil {
		b, err = appendDatum(b)
		if err != nil {
			err = &Error{ReasonEncode, fmt.Errorf("%s: %w", name, err)}
		}
	}
	var out []byte
	if err == nil {
		out = bytes.Clone(b)
	}
	if b != nil && cap(b) <= maxScratch {
		*bp = b[:0] // keep the buffer as it grew
	}
	scratch.Put(bp)
	return out, err
}

// encode writes the header and then goavro's encoding of native.
func (e *Encoder) encode(
	ctx context.Context, topic string, c *goavro.Codec, name string, native map[string]any,
) ([]byte, error) {
	b, err := e.appendHeader(ctx, make([]byte, 0, 256), topic, c, name)
	if err != nil {
		return nil, err
	}
	b, err = c.BinaryFromNative(b, native)
	if err != nil {
		return nil, &Error{ReasonEncode, fmt.Errorf("%s: %w", name, err)}
	}
	return b, nil
}

// appendHeader appends what precedes the datum: the single-object header
// with c's fingerprint, or, with a registry, the Confluent header with the
// id registered for c under the topic's subject.
func (e *Encoder) appendHeader(
	ctx context.Context, b []byte, topic string, c *goavro.Codec, name string,
) ([]byte, error) {
	if e.registry == nil {
		b = append(b, singleObjectMagic0, singleObjectMagic1)
		return binary.LittleEndian.AppendUint64(b, c.Rabin), nil
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
	b, _ = h.AppendEncode(b, id, nil) // never fails
	return b, nil
}
