package codec_test

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// singleObject encodes ev with the single-object encoding.
func singleObject(t *testing.T, ev record.Event) []byte {
	t.Helper()
	b, err := newEncoder(t, codec.EncoderOptions{}).Event(t.Context(), "events", &ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withEvent returns the sample event changed by fn.
func withEvent(fn func(*record.Event)) record.Event {
	ev := sampleEvent()
	fn(&ev)
	return ev
}

// hugeMapHeader is a triage.Event that claims 2^21 metrics: every field
// before the map empty, then the map's block count. It must fail fast
// instead of allocating for two million entries.
func hugeMapHeader() []byte {
	b := []byte{0xC3, 0x01}
	b = binary.LittleEndian.AppendUint64(b, schemas.Event.Rabin)
	b = append(b, 0, 0, 0, 2, 'x', 0) // id, event_time, source, entity "x", text null
	return binary.AppendVarint(b, 1<<21)
}

func TestPermanentErrors(t *testing.T) {
	valid := singleObject(t, sampleEvent())
	unknownFP := append([]byte(nil), valid...)
	unknownFP[2] ^= 0xff

	reg := newFakeRegistry(t)
	reg.SeedSchema("j-value", 1, 5, sr.Schema{Schema: `{"type": "object"}`, Type: sr.TypeJSON})
	withRegistry := newDecoder(t, codec.DecoderOptions{Registry: reg.client(t)})
	plain := newDecoder(t, codec.DecoderOptions{})
	nested := newDecoder(t, codec.DecoderOptions{Mapping: config.Mapping{
		Entity:       "user.id",
		MetricFields: map[string]string{"load": "stats.load"},
	}})

	for _, tt := range []struct {
		name  string
		dec   *codec.Decoder
		value []byte
		want  codec.Reason
	}{
		{"a nil value", plain, nil, codec.ReasonEmptyValue},
		{"an empty value", plain, []byte{}, codec.ReasonEmptyValue},

		{"plain text", plain, []byte("hello"), codec.ReasonUnknownFormat},
		{"binary garbage", plain, []byte{0xff, 0xfe, 0x01}, codec.ReasonUnknownFormat},
		{"only spaces", plain, []byte("  \n"), codec.ReasonUnknownFormat},
		{"0xC3 without 0x01", plain, []byte{0xC3, 0x02, 1, 2, 3, 4, 5, 6, 7, 8},
			codec.ReasonUnknownFormat},

		{"a cut single-object header", plain, valid[:6], codec.ReasonTruncatedAvro},
		{"a single-object value missing its last byte", plain, valid[:len(valid)-1],
			codec.ReasonTruncatedAvro},
		{"a single-object value with a byte left over", plain, append(valid[:len(valid):len(valid)], 0),
			codec.ReasonTruncatedAvro},
		{"a map claiming two million entries", plain, hugeMapHeader(),
			codec.ReasonTruncatedAvro},
		{"a cut Confluent header", withRegistry, []byte{0, 0, 1}, codec.ReasonTruncatedAvro},

		{"an unknown fingerprint", plain, unknownFP, codec.ReasonUnknownFingerprint},
		{"an id the registry does not have", withRegistry, confluent(999, []byte{0}),
			codec.ReasonUnknownSchemaID},
		{"an id of a JSON schema", withRegistry, confluent(5, []byte{0}),
			codec.ReasonUnsupportedSchema},
		{"the Confluent format without a registry", plain, confluent(5, []byte{0}),
			codec.ReasonNoRegistry},

		{"JSON cut short", plain, []byte(`{"entity": "x"`), codec.ReasonInvalidJSON},
		{"JSON missing a value", plain, []byte(`{"entity": }`), codec.ReasonInvalidJSON},
		{"two JSON objects", plain, []byte(`{"entity": "x"} {}`), codec.ReasonInvalidJSON},

		{"a JSON array", plain, []byte(`[{"entity": "x"}]`), codec.ReasonNotJSONObject},
		{"a JSON string", plain, []byte(`"x"`), codec.ReasonNotJSONObject},
		{"a JSON number", plain, []byte(" 42 "), codec.ReasonNotJSONObject},
		{"JSON null", plain, []byte("null"), codec.ReasonNotJSONObject},

		{"no entity", plain, []byte(`{"id": "1"}`), codec.ReasonMissingEntity},
		{"a null entity", plain, []byte(`{"entity": null}`), codec.ReasonMissingEntity},
		{"an empty entity", plain, []byte(`{"entity": ""}`), codec.ReasonMissingEntity},
		{"an empty Avro entity", plain, singleObject(t, withEvent(func(e *record.Event) {
			e.Entity = ""
		})), codec.ReasonMissingEntity},
		{"a nested entity whose parent is null", nested, []byte(`{"user": null}`),
			codec.ReasonMissingEntity},

		{"a raw invalid byte in JSON", plain, []byte("{\"entity\": \"\xff\"}"),
			codec.ReasonInvalidUTF8},
		{"a JSON lone high surrogate", plain, []byte(`{"entity": "x", "text": "\ud800"}`),
			codec.ReasonInvalidUTF8},
		{"a JSON high surrogate before a letter", plain,
			[]byte(`{"entity": "x", "text": "\uD800\u0041"}`), codec.ReasonInvalidUTF8},
		{"a JSON lone low surrogate", plain, []byte(`{"entity": "x", "text": "a\udc00"}`),
			codec.ReasonInvalidUTF8},
		{"invalid UTF-8 in an Avro text", plain, singleObject(t, withEvent(func(e *record.Event) {
			bad := "ok \xc3\x28"
			e.Text = &bad
		})), codec.ReasonInvalidUTF8},
		{"invalid UTF-8 in an Avro entity", plain, singleObject(t, withEvent(func(e *record.Event) {
			e.Entity = "\xed\xa0\x80"
		})), codec.ReasonInvalidUTF8},
		{"invalid UTF-8 in an Avro attribute", plain, singleObject(t, withEvent(func(e *record.Event) {
			e.Attributes = record.Attributes{{Key: "k", Value: "\xff"}}
		})), codec.ReasonInvalidUTF8},
		{"invalid UTF-8 in an Avro metric name", plain, singleObject(t, withEvent(func(e *record.Event) {
			e.Metrics = record.Metrics{{Name: "\xff", Value: 1}}
		})), codec.ReasonInvalidUTF8},

		{"a metric that is a string", plain, []byte(`{"entity": "x", "metrics": {"a": "1"}}`),
			codec.ReasonInvalidMetric},
		{"a metric that is null", plain, []byte(`{"entity": "x", "metrics": {"a": null}}`),
			codec.ReasonInvalidMetric},
		{"a metric beyond float64", plain, []byte(`{"entity": "x", "metrics": {"a": 1e999}}`),
			codec.ReasonInvalidMetric},
		{"a NaN Avro metric", plain, singleObject(t, withEvent(func(e *record.Event) {
			e.Metrics = record.Metrics{{Name: "a", Value: math.NaN()}}
		})), codec.ReasonInvalidMetric},
		{"an infinite Avro metric", plain, singleObject(t, withEvent(func(e *record.Event) {
			e.Metrics = record.Metrics{{Name: "a", Value: math.Inf(-1)}}
		})), codec.ReasonInvalidMetric},
		{"a metric field that is a boolean", nested,
			[]byte(`{"user": {"id": "u"}, "stats": {"load": true}}`), codec.ReasonInvalidMetric},

		{"a time in words", plain, []byte(`{"entity": "x", "event_time": "yesterday"}`),
			codec.ReasonInvalidTime},
		{"a time far in the future", plain, []byte(`{"entity": "x", "event_time": 1e300}`),
			codec.ReasonInvalidTime},
		{"a time of year 0", plain,
			[]byte(`{"entity": "x", "event_time": "0000-06-01T00:00:00Z"}`), codec.ReasonInvalidTime},
		{"a time that is a boolean", plain, []byte(`{"entity": "x", "event_time": true}`),
			codec.ReasonInvalidTime},

		{"an entity that is an object", plain, []byte(`{"entity": {"id": 1}}`),
			codec.ReasonMapping},
		{"an entity that is a boolean", plain, []byte(`{"entity": false}`), codec.ReasonMapping},
		{"metrics that are an array", plain, []byte(`{"entity": "x", "metrics": [1]}`),
			codec.ReasonMapping},
		{"text that is a number", plain, []byte(`{"entity": "x", "text": 5}`), codec.ReasonMapping},
		{"attributes that are a string", plain, []byte(`{"entity": "x", "attributes": "a"}`),
			codec.ReasonMapping},
		{"a path through a string", nested, []byte(`{"user": "bob"}`), codec.ReasonMapping},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.dec.Decode(t.Context(), tt.value, meta)
			t.Log(err)
			if got := codec.ReasonOf(err); got != tt.want {
				t.Fatalf("got reason %q (%v), want %q", got, err, tt.want)
			}
			if !codec.IsPermanent(err) || errors.Is(err, codec.ErrUnavailable) {
				t.Errorf("got IsPermanent false or ErrUnavailable for %v, want permanent only", err)
			}
			if prefix := string(tt.want) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("got message %q, want it to start with %q", err, prefix)
			}
		})
	}
}

func TestEscapesThatAreNotSurrogates(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	ev, err := dec.Decode(t.Context(),
		[]byte(`{"entity": "x", "text": "\\ud800 \\\\ \u00e9 \" \\"}`), meta)
	if err != nil {
		t.Fatal(err)
	}
	if want := `\ud800 \\ é " \`; ev.Text == nil || *ev.Text != want {
		t.Errorf("got text %v, want %q", ev.Text, want)
	}
}

func TestErrorMessages(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	valid := singleObject(t, sampleEvent())
	unknownFP := append([]byte(nil), valid...)
	copy(unknownFP[2:10], []byte{0x81, 0x70, 0x6f, 0x5e, 0x4d, 0x3c, 0x2b, 0x1a})

	for _, tt := range []struct {
		value []byte
		want  string
	}{
		{unknownFP, "unknown_fingerprint: no known schema has fingerprint 0x1a2b3c4d5e6f7081"},
		{nil, "empty_value: record has no value"},
		{[]byte(`{"entity": {"a": 1}}`),
			`mapping: path "entity" is a record or map, want a string or a number`},
		{[]byte(`{"entity": "x", "metrics": {"cpu": "high"}}`),
			`invalid_metric: metric "cpu" (path "metrics") is a string, want a number`},
		{confluent(3, nil), "no_registry: value is in the Confluent wire format (schema id 3), " +
			"but no schema registry is configured"},
	} {
		_, err := dec.Decode(t.Context(), tt.value, meta)
		if err == nil || err.Error() != tt.want {
			t.Errorf("got %v, want %s", err, tt.want)
		}
	}
}

func TestEncodeErrorIsPermanent(t *testing.T) {
	enr := sampleEnriched()
	enr.Anomaly.Metrics[0].Direction = "sideways"
	exp := sampleExplanation()
	exp.Source = ""
	enc := newEncoder(t, codec.EncoderOptions{})

	_, err := enc.Enriched(t.Context(), "out", &enr)
	if got := codec.ReasonOf(err); got != codec.ReasonEncode {
		t.Errorf("unknown direction: got reason %q (%v), want %q", got, err, codec.ReasonEncode)
	}
	_, err = enc.Explanation(t.Context(), "out", &exp)
	if got := codec.ReasonOf(err); got != codec.ReasonEncode {
		t.Errorf("empty source: got reason %q (%v), want %q", got, err, codec.ReasonEncode)
	}
}
