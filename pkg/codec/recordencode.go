package codec

import (
	"fmt"

	"github.com/streamtriage/triage/pkg/record"
)

// The direct encoders write triage.Event, triage.EnrichedEvent and
// triage.Escalation from the record types without goavro's maps. Each
// appends to b the Avro binary goavro's BinaryFromNative writes for the
// value's Native form; only the order of map entries may differ: goavro
// writes them in Go's map order, these in the order of the slice. Fields
// are written in schema order, which the schemas package pins with its
// fingerprints.

// Union branches of the nullable fields are written as the zig-zag
// varint of their index.
const (
	unionNull  = 0 // branch 0, null
	unionValue = 2 // branch 1, the string or record
)

// appendEvent appends e as a triage.Event. It cannot fail: every value of
// record.Event fits the schema.
func appendEvent(b []byte, e *record.Event) []byte {
	b = appendString(b, e.ID)
	b = appendMillis(b, e.Time)
	b = appendString(b, e.Source)
	b = appendString(b, e.Entity)
	if e.Text == nil {
		b = append(b, unionNull)
	} else {
		b = append(b, unionValue)
		b = appendString(b, *e.Text)
	}

	bl := blocks{n: int64(len(e.Metrics))}
	for _, m := range e.Metrics {
		b = bl.item(b)
		b = appendString(b, m.Name)
		b = appendDouble(b, m.Value)
	}
	b = append(b, 0)

	bl = blocks{n: int64(len(e.Attributes))}
	for _, a := range e.Attributes {
		b = bl.item(b)
		b = appendString(b, a.Key)
		b = appendString(b, a.Value)
	}
	return append(b, 0)
}

// appendEnriched appends e as a triage.EnrichedEvent. It fails only on a
// metric anomaly whose Direction is not one of the enum's symbols; an
// empty Direction is written as DirectionNone, as Native does.
func appendEnriched(b []byte, e *record.Enriched) ([]byte, error) {
	b = appendEvent(b, &e.Event)

	if c := e.Classification; c == nil {
		b = append(b, unionNull)
	} else {
		b = append(b, unionValue)
		b = appendString(b, c.Label)
		b = appendDouble(b, c.Confidence)
		b = appendString(b, c.ModelVersion)
	}

	if a := e.Anomaly; a == nil {
		b = append(b, unionNull)
	} else {
		b = append(b, unionValue)
		b = appendDouble(b, a.Score)
		b = appendBool(b, a.Flagged)
		bl := blocks{n: int64(len(a.Metrics))}
		for i := range a.Metrics {
			m := &a.Metrics[i]
			b = bl.item(b)
			b = appendString(b, m.Metric)
			b = appendDouble(b, m.Value)
			b = appendDouble(b, m.Expected)
			b = appendDouble(b, m.Lower)
			b = appendDouble(b, m.Upper)
			switch m.Direction {
			case "", record.DirectionNone:
				b = appendLong(b, 0)
			case record.DirectionUp:
				b = appendLong(b, 1)
			case record.DirectionDown:
				b = appendLong(b, 2)
			default:
				return nil, fmt.Errorf("anomaly metric %d (%q): direction %q is none of "+
					"the symbols none, up and down", i, m.Metric, m.Direction)
			}
			b = appendDouble(b, m.Contribution)
		}
		b = append(b, 0)
	}

	b = appendBool(b, e.Escalate)
	bl := blocks{n: int64(len(e.Reasons))}
	for _, r := range e.Reasons {
		b = bl.item(b)
		b = appendString(b, r)
	}
	b = append(b, 0)

	p := &e.Provenance
	b = appendString(b, p.Topic)
	b = appendLong(b, int64(p.Partition)) // an int's zig-zag equals a long's
	b = appendLong(b, p.Offset)
	b = appendString(b, p.WorkerID)
	b = appendMillis(b, p.ProcessedAt)
	return b, nil
}

// appendEscalation appends e as a triage.Escalation. It fails as
// appendEnriched does.
func appendEscalation(b []byte, e *record.Escalation) ([]byte, error) {
	b, err := appendEnriched(b, &e.Enriched)
	if err != nil {
		return nil, err
	}

	bl := blocks{n: int64(len(e.Recent))}
	for i := range e.Recent {
		b = bl.item(b)
		b = appendEvent(b, &e.Recent[i])
	}
	b = append(b, 0)

	bl = blocks{n: int64(len(e.Baselines))}
	for i := range e.Baselines {
		x := &e.Baselines[i]
		b = bl.item(b)
		b = appendString(b, x.Metric)
		b = appendDouble(b, x.Expected)
		b = appendDouble(b, x.Lower)
		b = appendDouble(b, x.Upper)
		b = appendLong(b, x.Samples)
	}
	return append(b, 0), nil
}
