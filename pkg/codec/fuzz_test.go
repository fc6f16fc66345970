package codec_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// FuzzDecode feeds arbitrary values to a decoder with the default mapping
// and one with a user's mapping, both backed by an in-process registry.
// Decoding must never panic; a failure must be permanent or transient;
// a success must satisfy Decode's contract. Where the direct decoder of
// triage.Event reads the value, goavro and the mapping must agree with it.
//
//	go test ./pkg/codec -run '^$' -fuzz FuzzDecode -fuzztime 60s
func FuzzDecode(f *testing.F) {
	ctx := context.Background()
	reg := srfake.New()
	f.Cleanup(reg.Close)
	reg.SeedSchema("events-value", 1, 1, sr.Schema{Schema: schemas.Event.Schema()})
	reg.SeedSchema("readings-value", 1, 7, sr.Schema{Schema: readingSchema})
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		f.Fatal(err)
	}
	decoders := []*codec.Decoder{
		newDecoder(f, codec.DecoderOptions{Registry: cl, Schemas: []string{readingSchema}}),
		newDecoder(f, codec.DecoderOptions{
			Registry: cl, Schemas: []string{readingSchema}, Mapping: readingMapping,
		}),
	}

	ev := sampleEvent()
	enr := sampleEnriched()
	single, _ := newEncoder(f, codec.EncoderOptions{}).Event(ctx, "events", &ev)
	enriched, _ := newEncoder(f, codec.EncoderOptions{}).Enriched(ctx, "out", &enr)
	rc, err := goavro.NewCodec(readingSchema)
	if err != nil {
		f.Fatal(err)
	}
	reading, _ := rc.SingleFromNative(nil, readingNative())
	for _, seed := range [][]byte{
		single,
		enriched,
		reading,
		confluent(1, single[10:]),
		confluent(7, reading[10:]),
		confluent(8, nil),
		hugeMapHeader(),
		[]byte(`{"id": "1", "event_time": "2024-05-17T10:30:00Z", "source": "s", ` +
			`"entity": "e", "text": "t\u00e9", "metrics": {"m": 1.5}, "attributes": {"a": "b"}}`),
		[]byte(`{"entity": 12, "event_time": 1715941800123, "attributes": {"x": [1, {"y": null}]}}`),
		[]byte(`{"device": {"serial": 4}, "gauges": {"g": 1}, "labels": {}}`),
		[]byte(`{"entity": "x", "text": "\ud83d\ude00 \\u"}`),
		[]byte(`[1, 2]`),
		[]byte(" \n"),
		{0xC3, 0x01},
		{0x00, 0x00, 0x00},
		nil,
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, value []byte) {
		for _, dec := range decoders {
			e, err := dec.Decode(ctx, value, meta)
			checkOutcome(t, "Decode", err)
			if err == nil {
				checkEvent(t, e)
			}
			checkSameDecode(t, dec, value)
			_, v, err := dec.Native(ctx, value)
			checkOutcome(t, "Native", err)
			if err != nil && v != nil {
				t.Fatalf("Native: got value %v with error %v, want nil", v, err)
			}
		}
	})
}

func checkOutcome(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	permanent := codec.IsPermanent(err)
	transient := errors.Is(err, codec.ErrUnavailable)
	if permanent == transient {
		t.Fatalf("%s: got %v (permanent %v, transient %v), want exactly one kind",
			op, err, permanent, transient)
	}
	if permanent && codec.ReasonOf(err) == "" {
		t.Fatalf("%s: got a permanent error without a reason: %v", op, err)
	}
}

func checkEvent(t *testing.T, e record.Event) {
	t.Helper()
	if e.Entity == "" {
		t.Fatal("got an event without entity")
	}
	for _, s := range []string{e.ID, e.Source, e.Entity} {
		if !utf8.ValidString(s) {
			t.Fatalf("got invalid UTF-8 %q", s)
		}
	}
	if e.Text != nil && !utf8.ValidString(*e.Text) {
		t.Fatalf("got invalid UTF-8 text %q", *e.Text)
	}
	for i, m := range e.Metrics {
		if !utf8.ValidString(m.Name) || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			t.Fatalf("got metric %q = %v", m.Name, m.Value)
		}
		if i > 0 && e.Metrics[i-1].Name >= m.Name {
			t.Fatalf("got metric %q after %q, want names sorted and unique",
				m.Name, e.Metrics[i-1].Name)
		}
	}
	for i, a := range e.Attributes {
		if !utf8.ValidString(a.Key) || !utf8.ValidString(a.Value) {
			t.Fatalf("got attribute %q = %q", a.Key, a.Value)
		}
		if i > 0 && e.Attributes[i-1].Key >= a.Key {
			t.Fatalf("got attribute %q after %q, want keys sorted and unique",
				a.Key, e.Attributes[i-1].Key)
		}
	}
	if e.Time.Location() != time.UTC || e.Time.Nanosecond()%1e6 != 0 {
		t.Fatalf("got time %v, want UTC at millisecond precision", e.Time)
	}
	if (e.Metrics != nil && len(e.Metrics) == 0) || (e.Attributes != nil && len(e.Attributes) == 0) {
		t.Fatal("got an empty map, want nil")
	}
}

// FuzzDecodeEvent feeds arbitrary Avro binary to the direct decoder of
// triage.Event, behind a single-object header, and compares it with goavro
// and the mapping: both must fail with the same reason or give the same
// Event.
//
//	go test ./pkg/codec -run '^$' -fuzz FuzzDecodeEvent -fuzztime 60s
func FuzzDecodeEvent(f *testing.F) {
	dec := newDecoder(f, codec.DecoderOptions{})
	ev := sampleEvent()
	single, err := newEncoder(f, codec.EncoderOptions{}).Event(context.Background(), "e", &ev)
	if err != nil {
		f.Fatal(err)
	}
	head := slices.Concat(avroString("i"), avroLong(1), avroString("s"), avroString("e"))
	for _, seed := range [][]byte{
		single[10:],
		slices.Concat(head, avroLong(0), avroLong(-1), avroLong(9), avroString("a"),
			avroDouble(1), avroLong(1), avroString("b"), avroDouble(math.NaN()), avroLong(0),
			avroLong(1), avroString("\xff"), avroString("v"), avroLong(0)),
		slices.Concat(head, avroLong(1), avroString("t\xc3"), avroLong(0), avroLong(0)),
		slices.Concat(head, avroLong(0), avroLong(goavro.MaxBlockCount)),
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
		nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameDecode(t, dec, eventValue(body))
	})
}
