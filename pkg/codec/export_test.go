package codec

import (
	"context"

	"github.com/streamtriage/triage/pkg/record"
)

// DecodeWithGoavro decodes value as Decode does, but Avro input always
// with goavro and the mapping, the reference for the direct decoder.
func DecodeWithGoavro(d *Decoder, ctx context.Context, value []byte, m Meta) (record.Event, error) {
	s, body, err := d.avroSchema(ctx, value)
	if err != nil || s == nil {
		return d.Decode(ctx, value, m)
	}
	v, err := s.decodeBinary(body)
	if err != nil {
		return record.Event{}, err
	}
	return s.plan.event(v, m, true)
}

// DecodesDirectly reports whether Decode reads value with the direct
// decoder of triage.Event.
func DecodesDirectly(d *Decoder, ctx context.Context, value []byte) (bool, error) {
	s, _, err := d.avroSchema(ctx, value)
	return s != nil && s.event, err
}
