package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// Magic bytes of the input formats.
const (
	singleObjectMagic0 = 0xC3 // Avro single-object encoding, version 1: 0xC3 0x01
	singleObjectMagic1 = 0x01
	singleObjectHeader = 10   // the two magic bytes and a little-endian fingerprint
	confluentMagic     = 0x00 // Confluent wire format: 0x00 and a big-endian id
)

// unknownIDTTL is how long a schema id the registry said it does not have
// is remembered. Records with such an id fail without asking again until
// then; after it, a schema registered since (or replicated late to the
// registry node that answered) is found.
const unknownIDTTL = 10 * time.Second

// maxBlockItems bounds the item count goavro accepts for one block of an
// array or map. goavro sizes its result by the count before it reads the
// items, so without a bound a dozen crafted bytes ask for gigabytes; at
// this bound such a value costs a few milliseconds. A block with more items
// fails with ReasonTruncatedAvro. No triage record comes near it, but a
// user's record with a longer array or map does (most writers put one in a
// single block): a known limit, which checking each count against the bytes
// left, in a decoder of our own instead of goavro's, would lift. The direct
// decoder of triage.Event does check that, and keeps this bound as well so
// that it refuses what goavro refuses.
const maxBlockItems = 1 << 16

func init() {
	// goavro's bounds are package variables, so this applies to every
	// goavro codec in the process; triage has no use for larger blocks.
	if goavro.MaxBlockCount > maxBlockItems {
		goavro.MaxBlockCount = maxBlockItems
	}
}

// Meta is the Kafka record's own facts, used where the value lacks them:
// the id defaults to topic-partition-offset, the source to the topic and
// the event time to the record's timestamp.
type Meta struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
}

// DecoderOptions configures a Decoder. The zero value decodes JSON and
// single-object encoded triage Events, but not the Confluent wire format.
type DecoderOptions struct {
	// Schemas are extra Avro schemas (the JSON text of .avsc files) that
	// single-object encoded input may use, besides the built-in ones.
	Schemas []string
	// Registry looks up the schemas of Confluent wire-format input by id.
	// Nil: such input fails permanently with ReasonNoRegistry.
	Registry *sr.Client
	// Mapping says where each Event field is in a decoded value. Empty
	// paths take the defaults, which read triage.Event.
	Mapping config.Mapping
	// Logger logs schemas loaded from the registry. Nil: no logs.
	Logger *zap.Logger
}

// Decoder turns Kafka record values into Events. It is safe for concurrent
// use; its only mutable state is the cache of registry schemas.
type Decoder struct {
	mapping  *mapping
	json     *plan              // the mapping for JSON input
	known    map[uint64]*schema // by Rabin fingerprint; read-only after NewDecoder
	registry *sr.Client
	ids      *cache[int, *schema]
	log      *zap.Logger
}

// schema is an Avro schema the decoder can read, with the mapping compiled
// against it.
type schema struct {
	name  string // full name of a named type, else the type ("array"...)
	codec *goavro.Codec
	plan  *plan
	// event is set when the schema is triage.Event as built in and the
	// mapping is the default one: decodeEvent then gives what codec and
	// plan give, without goavro's maps.
	event bool
}

// NewDecoder returns a decoder for the built-in schemas and o.Schemas. It
// fails on a schema that does not parse and on a mapping path with an
// empty segment ("a..b").
func NewDecoder(o DecoderOptions) (*Decoder, error) {
	m, err := newMapping(o.Mapping)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	d := &Decoder{
		mapping:  m,
		json:     m.plan(nil),
		known:    make(map[uint64]*schema),
		registry: o.Registry,
		ids:      newCache[int, *schema](),
		log:      o.Logger,
	}
	if d.log == nil {
		d.log = zap.NewNop()
	}
	for _, c := range schemas.All() {
		s, err := d.newSchema(c)
		if err != nil {
			return nil, fmt.Errorf("codec: built-in schema: %w", err)
		}
		d.known[c.Rabin] = s
	}
	for i, text := range o.Schemas {
		c, err := goavro.NewCodec(text)
		if err != nil {
			return nil, fmt.Errorf("codec: extra schema %d: %w", i, err)
		}
		s, err := d.newSchema(c)
		if err != nil {
			return nil, fmt.Errorf("codec: extra schema %d: %w", i, err)
		}
		d.known[c.Rabin] = s
	}
	return d, nil
}

func (d *Decoder) newSchema(c *goavro.Codec) (*schema, error) {
	t, err := parseAvroType(c.Schema())
	if err != nil {
		return nil, err
	}
	return &schema{
		name:  t.name,
		codec: c,
		plan:  d.mapping.plan(t),
		event: d.mapping.isDefault() && isBuiltinEvent(c, t),
	}, nil
}

// Decode decodes value, in any of the three formats, and maps it onto an
// Event. The Event's Entity is never empty, its strings are valid UTF-8,
// its metrics finite, its time in UTC at millisecond precision, and its
// empty maps nil.
//
// A failure is a *Error when the value can never be decoded, wraps
// ErrUnavailable when the schema registry could not answer, and is
// ctx.Err() when ctx ends while waiting for the registry. Only Confluent
// wire-format input uses ctx.
func (d *Decoder) Decode(ctx context.Context, value []byte, m Meta) (record.Event, error) {
	s, body, err := d.avroSchema(ctx, value)
	switch {
	case err != nil:
		return record.Event{}, err
	case s == nil:
		v, err := decodeJSON(value)
		if err != nil {
			return record.Event{}, err
		}
		return d.json.event(v, m, false)
	case s.event:
		return decodeEvent(body, m)
	}
	v, err := s.decodeBinary(body)
	if err != nil {
		return record.Event{}, err
	}
	return s.plan.event(v, m, true)
}

// Native decodes value without mapping it, for tools that print any triage
// topic. It returns the full name of the value's schema ("" for JSON) and
// goavro's native form of the value (for JSON, what encoding/json gives
// with numbers as json.Number). Failures are those of Decode.
func (d *Decoder) Native(ctx context.Context, value []byte) (schema string, v any, err error) {
	v, s, err := d.decode(ctx, value)
	switch {
	case err != nil:
		return "", nil, err
	case s == nil:
		return "", v, nil
	}
	return s.name, v, nil
}

// decode tells the format by the first bytes and decodes the value. The
// schema is nil for JSON.
func (d *Decoder) decode(ctx context.Context, value []byte) (any, *schema, error) {
	s, body, err := d.avroSchema(ctx, value)
	switch {
	case err != nil:
		return nil, nil, err
	case s != nil:
		v, err := s.decodeBinary(body)
		return v, s, err
	}
	m, err := decodeJSON(value)
	if err != nil {
		return nil, nil, err // not m: a nil map in an any is not a nil any
	}
	return m, nil, nil
}

// avroSchema tells the format by the first bytes and, for the two Avro
// formats, returns the value's schema and the Avro binary after the header.
// For any other first byte it returns a nil schema and no error, and the
// caller reads the value as JSON.
func (d *Decoder) avroSchema(ctx context.Context, value []byte) (*schema, []byte, error) {
	if len(value) == 0 {
		return nil, nil, permanent(ReasonEmptyValue, "record has no value")
	}
	switch value[0] {
	case singleObjectMagic0:
		return d.singleObjectSchema(value)
	case confluentMagic:
		return d.confluentSchema(ctx, value)
	}
	return nil, nil, nil
}

func (d *Decoder) singleObjectSchema(value []byte) (*schema, []byte, error) {
	if len(value) < 2 || value[1] != singleObjectMagic1 {
		return nil, nil, permanent(ReasonUnknownFormat,
			"value starts with 0xC3 but not 0xC3 0x01 (Avro single-object encoding)")
	}
	if len(value) < singleObjectHeader {
		return nil, nil, permanent(ReasonTruncatedAvro,
			"single-object header is %d bytes, want %d", len(value), singleObjectHeader)
	}
	fp := binary.LittleEndian.Uint64(value[2:singleObjectHeader])
	s, ok := d.known[fp]
	if !ok {
		return nil, nil, permanent(ReasonUnknownFingerprint,
			"no known schema has fingerprint %#016x", fp)
	}
	return s, value[singleObjectHeader:], nil
}

func (d *Decoder) confluentSchema(ctx context.Context, value []byte) (*schema, []byte, error) {
	var h sr.ConfluentHeader
	id, body, err := h.DecodeID(value)
	if err != nil {
		return nil, nil, permanent(ReasonTruncatedAvro,
			"Confluent wire-format header is %d bytes, want 5", len(value))
	}
	if d.registry == nil {
		return nil, nil, permanent(ReasonNoRegistry, "value is in the Confluent wire format "+
			"(schema id %d), but no schema registry is configured", id)
	}
	s, err := d.ids.get(ctx, id, func(ctx context.Context) (*schema, error) {
		return d.fetch(ctx, id)
	}, keepUnknownIDs)
	if err != nil {
		return nil, nil, err
	}
	return s, body, nil
}

func keepUnknownIDs(err error) time.Duration {
	if IsPermanent(err) {
		return unknownIDTTL
	}
	return 0
}

// fetch looks up one schema id in the registry; the cache makes sure it
// runs once per id at a time.
func (d *Decoder) fetch(ctx context.Context, id int) (*schema, error) {
	ss, err := d.registry.SchemaByID(ctx, id)
	if err != nil {
		err = fetchError(ctx, id, err)
		d.log.Debug("schema registry lookup failed", zap.Int("schema_id", id), zap.Error(err))
		return nil, err
	}
	if ss.Type != sr.TypeAvro {
		return nil, permanent(ReasonUnsupportedSchema,
			"schema id %d is of type %s, want AVRO", id, ss.Type)
	}
	if len(ss.References) > 0 {
		// goavro parses one self-contained schema; resolving references
		// would mean fetching and splicing the referenced schemas in.
		return nil, permanent(ReasonUnsupportedSchema,
			"schema id %d refers to %d other schemas, which is not supported",
			id, len(ss.References))
	}
	c, err := goavro.NewCodec(ss.Schema)
	if err != nil {
		return nil, permanent(ReasonUnsupportedSchema, "schema id %d: %v", id, err)
	}
	s, err := d.newSchema(c)
	if err != nil {
		return nil, permanent(ReasonUnsupportedSchema, "schema id %d: %v", id, err)
	}
	d.log.Info("loaded schema from registry", zap.Int("schema_id", id),
		zap.String("schema", s.name))
	return s, nil
}

// decodeBinary decodes one Avro binary datum that must fill b exactly.
func (s *schema) decodeBinary(b []byte) (any, error) {
	v, rest, err := s.codec.NativeFromBinary(b)
	if err != nil {
		return nil, permanent(ReasonTruncatedAvro, "%s: %v", s.name, err)
	}
	if len(rest) > 0 {
		return nil, permanent(ReasonTruncatedAvro,
			"%d byte(s) left over after a %s", len(rest), s.name)
	}
	return v, nil
}

// decodeJSON decodes a JSON object, numbers as json.Number.
func decodeJSON(value []byte) (map[string]any, error) {
	i := 0
	for i < len(value) && isSpace(value[i]) {
		i++
	}
	if i == len(value) || value[i] != '{' {
		if json.Valid(value) {
			return nil, permanent(ReasonNotJSONObject, "value is a JSON %s, want an object",
				jsonKind(value[i]))
		}
		if i == len(value) {
			return nil, permanent(ReasonUnknownFormat, "value is only white space")
		}
		return nil, permanent(ReasonUnknownFormat, "value starts with %#02x, which is none of "+
			"'{' (JSON), 0xC3 0x01 (Avro single-object) and 0x00 (Confluent)", value[i])
	}

	// encoding/json would replace invalid UTF-8 with U+FFFD without a word.
	if !utf8.Valid(value) {
		return nil, permanent(ReasonInvalidUTF8, "value is not valid UTF-8 at byte %d",
			firstInvalidUTF8(value))
	}

	// Into an any, not a map: encoding/json fills an any without reflection.
	var v any
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, permanent(ReasonInvalidJSON, "%v", err)
	}
	for _, c := range value[dec.InputOffset():] {
		if !isSpace(c) {
			return nil, permanent(ReasonInvalidJSON, "data after the object at byte %d",
				dec.InputOffset())
		}
	}
	if bytes.IndexByte(value, '\\') >= 0 && hasLoneSurrogate(value) {
		return nil, permanent(ReasonInvalidUTF8,
			"value has a \\u escape of a lone UTF-16 surrogate")
	}
	m, _ := v.(map[string]any) // it starts with '{' and decoded
	return m, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonKind names the kind of a valid JSON value by its first byte.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// hasLoneSurrogate reports whether valid JSON text has a \u escape of a
// UTF-16 surrogate that is not half of a pair, which encoding/json turns
// into U+FFFD. Backslashes only occur inside strings in valid JSON.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 || i+j+1 >= len(b) {
			return false
		}
		i += j
		if b[i+1] != 'u' {
			i += 2 // \\, \", \n...: the escaped byte cannot start an escape
			continue
		}
		r, ok := hex4(b, i+2)
		switch {
		case !ok:
			i += 2
		case r >= 0xD800 && r < 0xDC00:
			low, ok := hex4(b, i+8)
			if !ok || b[i+6] != '\\' || b[i+7] != 'u' || low < 0xDC00 || low >= 0xE000 {
				return true
			}
			i += 12
		case r >= 0xDC00 && r < 0xE000:
			return true
		default:
			i += 6
		}
	}
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
