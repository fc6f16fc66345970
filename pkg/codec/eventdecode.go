package codec

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/linkedin/goavro/v2"

	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// The direct decoder of triage.Event reads the Avro binary straight into a
// record.Event, without goavro's maps. It gives what goavro's decoder and
// the default mapping give together: the same Event, or a failure with the
// same reason. Structural faults come first, as goavro finds them before
// the mapping runs; then the mapping's checks in the mapping's order.
//
// Where the mapping's answer depends on Go's map order (a metrics map with
// both a name that is not valid UTF-8 and a value that is not finite), the
// direct decoder reports the first fault in wire order, one of the answers
// the mapping can give.

// Event times are checked as epoch milliseconds: a count in this range is
// exactly a time inside [minEventTime, maxEventTime].
var (
	minEventMillis = minEventTime.UnixMilli()
	maxEventMillis = maxEventTime.UnixMilli()
)

// Map entries take at least a one-byte key length and then a double (8
// bytes) or a one-byte string length.
const (
	minMetricEntry    = 1 + 8
	minAttributeEntry = 1 + 1
)

// decodeEvent decodes the Avro binary of a triage.Event, which must fill
// body exactly, and applies the default mapping's checks and defaults.
func decodeEvent(body []byte, meta Meta) (record.Event, error) {
	// Every string of the Event is cut from one copy of body: one allocation
	// instead of one per string. They keep all of it alive, which is small.
	all := string(body)
	r := avroReader{b: body}
	id := r.str(all)
	millis := r.long()
	source := r.str(all)
	entity := r.str(all)
	var text string
	hasText := false
	switch r.long() {
	case 0:
	case 1:
		text, hasText = r.str(all), true
	default:
		r.fail("the union index of text is neither 0 nor 1")
	}
	metrics, metricsErr := r.metrics(all)
	attrs, attrsErr := r.attributes(all)
	if r.err != "" {
		return record.Event{}, permanent(ReasonTruncatedAvro, "%s: %s", schemas.EventName, r.err)
	}
	if len(r.b) > 0 {
		return record.Event{}, permanent(ReasonTruncatedAvro,
			"%d byte(s) left over after a %s", len(r.b), schemas.EventName)
	}

	var ev record.Event
	switch {
	case !utf8.ValidString(entity):
		return ev, invalidUTF8(defaultEntityPath)
	case len(entity) == 0:
		return ev, permanent(ReasonMissingEntity, "path %q is empty", defaultEntityPath)
	case !utf8.ValidString(id):
		return ev, invalidUTF8(defaultIDPath)
	case !utf8.ValidString(source):
		return ev, invalidUTF8(defaultSourcePath)
	}
	t := millisTime(millis)
	if millis < minEventMillis || millis > maxEventMillis {
		return ev, permanent(ReasonInvalidTime, "path %q: %s is outside the years 1 to 9999",
			defaultEventTimePath, t.Format(time.RFC3339))
	}
	if hasText && !utf8.ValidString(text) {
		return ev, invalidUTF8(defaultTextPath)
	}
	if metricsErr != nil {
		return ev, metricsErr
	}
	if attrsErr != nil {
		return ev, attrsErr
	}

	ev.Entity = entity
	ev.ID = id
	if ev.ID == "" {
		ev.ID = defaultID(meta)
	}
	ev.Source = source
	if ev.Source == "" {
		ev.Source = meta.Topic
	}
	ev.Time = t
	if hasText {
		ev.Text = new(text) // &text would allocate for events without text too
	}
	ev.Metrics = metrics
	ev.Attributes = attrs
	return ev, nil
}

// millisTime converts timestamp-millis to a time as goavro does.
func millisTime(ms int64) time.Time {
	sec := ms / 1e3
	return time.Unix(sec, (ms-sec*1e3)*1e6).UTC()
}

func invalidUTF8(path string) *Error {
	return permanent(ReasonInvalidUTF8, "path %q is not valid UTF-8", path)
}

// metrics reads a map of doubles, its names cut from all (see str), and
// sorts it by name. An empty map gives nil. The error is the first entry
// in wire order that the mapping would refuse, for after the whole datum
// is read.
func (r *avroReader) metrics(all string) (record.Metrics, *Error) {
	var refused *Error
	n := r.blockCount(minMetricEntry)
	if n == 0 {
		return nil, nil
	}
	m := make(record.Metrics, 0, n)
	for n > 0 {
		for range n {
			key := r.str(all)
			v := r.double()
			if r.err != "" {
				return nil, nil
			}
			m = append(m, record.Metric{Name: key, Value: v})
			if refused != nil {
				continue
			}
			switch {
			case !utf8.ValidString(key):
				refused = permanent(ReasonInvalidUTF8,
					"path %q has a metric name that is not valid UTF-8", defaultMetricsPath)
			case math.IsNaN(v) || math.IsInf(v, 0):
				refused = permanent(ReasonInvalidMetric,
					"metric %q (path %q) is %v, want a finite number", key, defaultMetricsPath, v)
			}
		}
		n = r.blockCount(minMetricEntry)
	}
	if !sortMetrics(m) {
		r.fail("a map key is repeated")
		return nil, nil
	}
	return m, refused
}

// attributes reads a map of strings, cut from all (see str), and sorts it
// by key. An empty map gives nil. The error is the first entry in wire
// order that the mapping would refuse, for after the whole datum is read.
func (r *avroReader) attributes(all string) (record.Attributes, *Error) {
	var refused *Error
	n := r.blockCount(minAttributeEntry)
	if n == 0 {
		return nil, nil
	}
	m := make(record.Attributes, 0, n)
	for n > 0 {
		for range n {
			key := r.str(all)
			v := r.str(all)
			if r.err != "" {
				return nil, nil
			}
			m = append(m, record.Attribute{Key: key, Value: v})
			if refused != nil {
				continue
			}
			switch {
			case !utf8.ValidString(key):
				refused = permanent(ReasonInvalidUTF8,
					"path %q has a key that is not valid UTF-8", defaultAttributesPath)
			case !utf8.ValidString(v):
				refused = permanent(ReasonInvalidUTF8,
					"path %q: the value of %q is not valid UTF-8", defaultAttributesPath, key)
			}
		}
		n = r.blockCount(minAttributeEntry)
	}
	if !sortAttributes(m) {
		r.fail("a map key is repeated")
		return nil, nil
	}
	return m, refused
}

// sortMetrics sorts m by name and reports whether the names are unique.
// Writers commonly send entries sorted already, which one pass confirms.
func sortMetrics(m record.Metrics) bool {
	for i := 1; i < len(m); i++ {
		if m[i-1].Name >= m[i].Name {
			slices.SortFunc(m, func(a, b record.Metric) int {
				return strings.Compare(a.Name, b.Name)
			})
			for i := 1; i < len(m); i++ {
				if m[i-1].Name == m[i].Name {
					return false
				}
			}
			return true
		}
	}
	return true
}

// sortAttributes sorts a by key and reports whether the keys are unique,
// as sortMetrics does.
func sortAttributes(a record.Attributes) bool {
	for i := 1; i < len(a); i++ {
		if a[i-1].Key >= a[i].Key {
			slices.SortFunc(a, func(x, y record.Attribute) int {
				return strings.Compare(x.Key, y.Key)
			})
			for i := 1; i < len(a); i++ {
				if a[i-1].Key == a[i].Key {
					return false
				}
			}
			return true
		}
	}
	return true
}

// isBuiltinEvent reports whether c decodes exactly as the built-in
// triage.Event does: the same canonical form, which is the same binary
// layout, and the same logical types, which the canonical form leaves out
// (a long read as timestamp-micros would give other times).
func isBuiltinEvent(c *goavro.Codec, t *avroType) bool {
	return c.CanonicalSchema() == schemas.Event.CanonicalSchema() &&
		sameAvroType(t, builtinEventType, nil)
}

// builtinEventType is the type tree of the built-in triage.Event.
var builtinEventType = func() *avroType {
	t, err := parseAvroType(schemas.Event.Schema())
	if err != nil {
		panic(err) // the schema is embedded and parsed by goavro already
	}
	return t
}()

// sameAvroType reports whether a and b have the same kinds, names (which
// carry logical types) and shape. seen holds pairs of named types already
// being compared, so that recursive types end.
func sameAvroType(a, b *avroType, seen map[[2]*avroType]bool) bool {
	if a.kind != b.kind || a.name != b.name || len(a.fields) != len(b.fields) ||
		len(a.branches) != len(b.branches) || (a.values == nil) != (b.values == nil) {
		return false
	}
	if a.fields != nil {
		pair := [2]*avroType{a, b}
		if seen[pair] {
			return true
		}
		if seen == nil {
			seen = make(map[[2]*avroType]bool)
		}
		seen[pair] = true
		for k, fa := range a.fields {
			fb, ok := b.fields[k]
			if !ok || !sameAvroType(fa, fb, seen) {
				return false
			}
		}
	}
	for i := range a.branches {
		if !sameAvroType(a.branches[i], b.branches[i], seen) {
			return false
		}
	}
	return a.values == nil || sameAvroType(a.values, b.values, seen)
}

// isDefault reports whether m is the default mapping, which reads
// triage.Event by its own field names and adds no metric fields.
func (m *mapping) isDefault() bool {
	return m.id.text == defaultIDPath && m.eventTime.text == defaultEventTimePath &&
		m.source.text == defaultSourcePath && m.entity.text == defaultEntityPath &&
		m.text.text == defaultTextPath && m.metrics.text == defaultMetricsPath &&
		m.attributes.text == defaultAttributesPath && len(m.metricFields) == 0
}
