package codec_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
)

// readingSchema is a user's own Avro record: nested records, nullable
// fields, a logical type in a union, and maps whose single key happens to
// be a type name, which must not be mistaken for union wrappers.
const readingSchema = `{
  "type": "record", "name": "Reading", "namespace": "acme.iot",
  "fields": [
    {"name": "device", "type": {"type": "record", "name": "Device", "fields": [
      {"name": "serial", "type": ["null", "long"]},
      {"name": "site", "type": ["null", {"type": "record", "name": "Site",
        "fields": [{"name": "name", "type": "string"}]}]}
    ]}},
    {"name": "at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
    {"name": "temp", "type": ["null", "double"]},
    {"name": "gauges", "type": {"type": "map", "values": ["null", "double"]}},
    {"name": "labels", "type": {"type": "map", "values": "string"}},
    {"name": "note", "type": ["null", "string"]}
  ]
}`

var readingMapping = config.Mapping{
	EventTime:    "at",
	Source:       "device.site.name",
	Entity:       "device.serial",
	Text:         "note",
	Metrics:      "gauges",
	Attributes:   "labels",
	MetricFields: map[string]string{"temp": "temp"},
}

func readingNative() map[string]any {
	return map[string]any{
		"device": map[string]any{
			"serial": map[string]any{"long": int64(991)},
			"site":   map[string]any{"acme.iot.Site": map[string]any{"name": "plant-2"}},
		},
		"at":     map[string]any{"long.timestamp-millis": t0},
		"temp":   map[string]any{"double": 71.5},
		"gauges": map[string]any{"double": map[string]any{"double": 1.5}},
		"labels": map[string]any{"string": "not a union"},
		"note":   nil,
	}
}

func readingWant() record.Event {
	return record.Event{
		ID:         "events-2-41",
		Time:       t0,
		Source:     "plant-2",
		Entity:     "991",
		Metrics:    record.MetricsOf(map[string]float64{"double": 1.5, "temp": 71.5}),
		Attributes: record.AttributesOf(map[string]string{"string": "not a union"}),
	}
}

func TestUserAvroRecordThroughMapping(t *testing.T) {
	c, err := goavro.NewCodec(readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	single, err := c.SingleFromNative(nil, readingNative())
	if err != nil {
		t.Fatal(err)
	}
	body, err := c.BinaryFromNative(nil, readingNative())
	if err != nil {
		t.Fatal(err)
	}
	reg := newFakeRegistry(t)
	reg.SeedSchema("readings-value", 1, 7, schemaOf(t, readingSchema))

	dec := newDecoder(t, codec.DecoderOptions{
		Schemas:  []string{readingSchema},
		Registry: reg.client(t),
		Mapping:  readingMapping,
	})
	for _, tt := range []struct {
		name  string
		value []byte
	}{
		{"single-object encoded", single},
		{"in the Confluent wire format", confluent(7, body)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dec.Decode(t.Context(), tt.value, meta)
			if err != nil {
				t.Fatal(err)
			}
			if want := readingWant(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			name, _, err := dec.Native(t.Context(), tt.value)
			if err != nil || name != "acme.iot.Reading" {
				t.Errorf("got schema %q (%v), want acme.iot.Reading", name, err)
			}
		})
	}
}

func TestUserJSONThroughMapping(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{Mapping: config.Mapping{
		ID:           "meta.uuid",
		EventTime:    "meta.ts",
		Source:       "meta.origin",
		Entity:       "customer.id",
		Text:         "message",
		Metrics:      "stats",
		Attributes:   "tags",
		MetricFields: map[string]string{"total": "order.total", "absent": "order.nope"},
	}})
	value := []byte(`{
		"meta": {"uuid": "abc", "ts": 1715941800123, "origin": "shop"},
		"customer": {"id": 12345678901234567890},
		"message": "late delivery \u00e9\ud83d\ude00",
		"stats": {"wait_s": 42, "items": 3},
		"order": {"total": 19.99},
		"tags": {"vip": true, "tier": 2, "nested": {"a": [1, "x"]}, "nothing": null, "s": "y"}
	}`)
	got, err := dec.Decode(t.Context(), value, meta)
	if err != nil {
		t.Fatal(err)
	}
	text := "late delivery é😀"
	want := record.Event{
		ID:      "abc",
		Time:    t0,
		Source:  "shop",
		Entity:  "12345678901234567890",
		Text:    &text,
		Metrics: record.MetricsOf(map[string]float64{"wait_s": 42, "items": 3, "total": 19.99}),
		Attributes: record.AttributesOf(map[string]string{
			"vip": "true", "tier": "2", "nested": `{"a":[1,"x"]}`, "s": "y",
		}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDefaultsFromMeta(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	got, err := dec.Decode(t.Context(), []byte(`{"entity": "x", "text": null}`), meta)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Event{ID: "events-2-41", Time: meta.Timestamp, Source: "events", Entity: "x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestFieldForms(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	for _, tt := range []struct {
		name  string
		value string
		check func(record.Event) (got, want any)
	}{
		{"an RFC 3339 time with an offset is kept in UTC",
			`{"entity": "x", "event_time": "2024-05-17T12:30:00.123456+02:00"}`,
			func(e record.Event) (any, any) { return e.Time, t0 }},
		{"epoch milliseconds as an integer",
			`{"entity": "x", "event_time": 1715941800123}`,
			func(e record.Event) (any, any) { return e.Time, t0 }},
		{"epoch milliseconds with a fraction are truncated",
			`{"entity": "x", "event_time": 1715941800123.9}`,
			func(e record.Event) (any, any) { return e.Time, t0 }},
		{"a numeric entity is rendered as written",
			`{"entity": 4.50}`,
			func(e record.Event) (any, any) { return e.Entity, "4.50" }},
		{"a numeric id is rendered",
			`{"entity": "x", "id": 7}`,
			func(e record.Event) (any, any) { return e.ID, "7" }},
		{"an empty id falls back to topic-partition-offset",
			`{"entity": "x", "id": ""}`,
			func(e record.Event) (any, any) { return e.ID, "events-2-41" }},
		{"integer metrics become floats",
			`{"entity": "x", "metrics": {"n": -3}}`,
			func(e record.Event) (any, any) {
				return e.Metrics, record.Metrics{{Name: "n", Value: -3}}
			}},
		{"an empty metrics map gives nil",
			`{"entity": "x", "metrics": {}, "attributes": {}}`,
			func(e record.Event) (any, any) { return e.Metrics == nil && e.Attributes == nil, true }},
		{"a big float attribute uses an exponent",
			`{"entity": "x", "attributes": {"f": 1e300}}`,
			func(e record.Event) (any, any) { f, _ := e.Attributes.Get("f"); return f, "1e300" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := dec.Decode(t.Context(), []byte(tt.value), meta)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tt.check(ev); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestAvroFieldForms(t *testing.T) {
	// A user schema whose entity is an int, time a plain long and
	// attributes a map of mixed unions.
	const schema = `{"type": "record", "name": "R", "fields": [
		{"name": "entity", "type": "int"},
		{"name": "event_time", "type": "long"},
		{"name": "attributes", "type": {"type": "map",
			"values": ["null", "long", "boolean", "string",
				{"type": "long", "logicalType": "timestamp-millis"}]}}
	]}`
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.SingleFromNative(nil, map[string]any{
		"entity":     int32(-5),
		"event_time": t0.UnixMilli(),
		"attributes": map[string]any{
			"n": map[string]any{"long": int64(3)},
			"b": map[string]any{"boolean": false},
			"z": nil,
			"t": map[string]any{"long.timestamp-millis": t0},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := newDecoder(t, codec.DecoderOptions{Schemas: []string{schema}}).
		Decode(t.Context(), b, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := record.Event{
		ID: "events-2-41", Time: t0, Source: "events", Entity: "-5",
		Attributes: record.AttributesOf(map[string]string{
			"n": "3", "b": "false", "t": "2024-05-17T10:30:00.123Z",
		}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestNewDecoderRefusesBadOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    codec.DecoderOptions
	}{
		{"a path with an empty segment", codec.DecoderOptions{
			Mapping: config.Mapping{Entity: "user..id"}}},
		{"a path ending in a dot", codec.DecoderOptions{
			Mapping: config.Mapping{MetricFields: map[string]string{"m": "a."}}}},
		{"a metric field without a name", codec.DecoderOptions{
			Mapping: config.Mapping{MetricFields: map[string]string{"": "a"}}}},
		{"an extra schema that is not JSON", codec.DecoderOptions{Schemas: []string{"{nope"}}},
		{"an extra schema with an unknown type", codec.DecoderOptions{
			Schemas: []string{`{"type": "record", "name": "X", "fields": [
				{"name": "a", "type": "Missing"}]}`}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := codec.NewDecoder(tt.o); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
}

func TestMetaTimestampIsTruncated(t *testing.T) {
	m := meta
	m.Timestamp = t0.Add(999 * time.Microsecond).In(time.FixedZone("x", -3600))
	got, err := newDecoder(t, codec.DecoderOptions{}).
		Decode(t.Context(), []byte(`{"entity": "x"}`), m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Time, t0) {
		t.Errorf("got time %v, want %v", got.Time, t0)
	}
}

// TestUnionOfRecords maps a path whose last step is a union in one branch
// of the record union above it and a plain string in the other.
func TestUnionOfRecords(t *testing.T) {
	const schema = `{"type": "record", "name": "Outer", "fields": [
		{"name": "body", "type": [
			{"type": "record", "name": "A", "fields": [
				{"name": "who", "type": ["null", "string"]}]},
			{"type": "record", "name": "B", "fields": [
				{"name": "who", "type": "string"}]}
		]}
	]}`
	c, err := goavro.NewCodec(schema)
	if err != nil {
		t.Fatal(err)
	}
	dec := newDecoder(t, codec.DecoderOptions{
		Schemas: []string{schema},
		Mapping: config.Mapping{Entity: "body.who"},
	})
	for _, tt := range []struct {
		name   string
		native map[string]any
		want   string
	}{
		{"the branch with a nullable string", map[string]any{
			"body": map[string]any{"A": map[string]any{"who": map[string]any{"string": "alice"}}},
		}, "alice"},
		{"the branch with a plain string", map[string]any{
			"body": map[string]any{"B": map[string]any{"who": "bob"}},
		}, "bob"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := c.SingleFromNative(nil, tt.native)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := dec.Decode(t.Context(), b, meta)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Entity != tt.want {
				t.Errorf("got entity %q, want %q", ev.Entity, tt.want)
			}
		})
	}
}
