package codec_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/schemas"
)

// The direct codecs of triage's own schemas are proven against goavro here:
// the encoders must write goavro's bytes and the decoder must give what
// goavro and the mapping give, for random records of every shape.

var seedFlag = flag.Uint64("seed", 0, "seed of the random records (0: from the clock)")

// newRand returns a source of random records and logs its seed, so that a
// failure can be replayed with -seed.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed>>32))
}

// randomRecords makes records with the extremes the wire allows. It is
// not safe for concurrent use.
type randomRecords struct {
	rng *rand.Rand
	// badRate is how often a string is invalid UTF-8 or a metric not
	// finite, per thousand.
	badRate int
	// smallMaps keeps maps to at most one entry, whose bytes do not
	// depend on Go's map order.
	smallMaps bool
}

var stringPieces = []string{
	"a", "Z", "0", " ", "é", "ß", "日本", "語", "😀",
	"\U0010FFFF", "\uFFFD", "\x00", "\t", `"`,
}

var badPieces = []string{"\xff", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}

func (g *randomRecords) bad() bool { return g.rng.IntN(1000) < g.badRate }

func (g *randomRecords) str() string {
	var sb strings.Builder
	n := 0
	switch g.rng.IntN(10) {
	case 0:
		return ""
	case 1:
		n = 50 + g.rng.IntN(300) // long enough for a multi-byte length
	default:
		n = 1 + g.rng.IntN(12)
	}
	for range n {
		sb.WriteString(stringPieces[g.rng.IntN(len(stringPieces))])
	}
	if g.bad() {
		s := sb.String()
		i := g.rng.IntN(len(s) + 1)
		return s[:i] + badPieces[g.rng.IntN(len(badPieces))] + s[i:]
	}
	return sb.String()
}

func (g *randomRecords) float() float64 {
	if g.bad() {
		return []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[g.rng.IntN(3)]
	}
	switch g.rng.IntN(8) {
	case 0:
		return []float64{0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64,
			math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 1, -1}[g.rng.IntN(8)]
	case 1:
		f := math.Float64frombits(g.rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0.5
		}
		return f
	}
	return g.rng.NormFloat64() * 1000
}

func (g *randomRecords) long() int64 {
	switch g.rng.IntN(6) {
	case 0:
		return []int64{0, -1, 1, 63, -64, 64, math.MinInt64, math.MaxInt64}[g.rng.IntN(8)]
	case 1:
		return int64(g.rng.Uint64())
	}
	return g.rng.Int64N(1 << 40)
}

var (
	validFrom = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	validTo   = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// time returns times in and out of the years 1 to 9999, in and beyond
// millisecond precision, in UTC and not.
func (g *randomRecords) time() time.Time {
	switch g.rng.IntN(12) {
	case 0:
		return []time.Time{{}, time.Unix(0, 0), validFrom, validTo,
			validFrom.Add(-time.Millisecond), validTo.Add(time.Millisecond),
			time.UnixMilli(math.MinInt64), time.UnixMilli(math.MaxInt64),
			time.Unix(-1, 999_999_999), time.Unix(0, -1)}[g.rng.IntN(10)]
	case 1:
		return time.UnixMilli(int64(g.rng.Uint64()))
	case 2:
		return time.Unix(g.rng.Int64N(1<<36)-1<<35, g.rng.Int64N(1e9)) // sub-millisecond
	case 3:
		zone := time.FixedZone("x", g.rng.IntN(50_000)-25_000)
		return time.UnixMilli(g.rng.Int64N(4e12)).In(zone)
	}
	lo, hi := validFrom.UnixMilli(), validTo.UnixMilli()
	return time.UnixMilli(lo + g.rng.Int64N(hi-lo+1)).UTC()
}

// size returns a map or slice length: mostly none or a few, sometimes many.
func (g *randomRecords) size() int {
	switch g.rng.IntN(10) {
	case 0, 1:
		return 0
	case 2, 3:
		return 1
	case 4:
		return 50 + g.rng.IntN(300)
	}
	return 2 + g.rng.IntN(4)
}

func (g *randomRecords) mapSize() int {
	if g.smallMaps {
		return g.rng.IntN(2)
	}
	return g.size()
}

func (g *randomRecords) event() record.Event {
	e := record.Event{
		ID: g.str(), Time: g.time(), Source: g.str(), Entity: g.str(),
	}
	if g.rng.IntN(3) > 0 {
		s := g.str()
		e.Text = &s
	}
	if n := g.mapSize(); n > 0 || g.rng.IntN(2) == 0 {
		m := make(map[string]float64, n)
		for range n {
			m[g.str()] = g.float()
		}
		e.Metrics = append(record.Metrics{}, record.MetricsOf(m)...)
	}
	if n := g.mapSize(); n > 0 || g.rng.IntN(2) == 0 {
		m := make(map[string]string, n)
		for range n {
			m[g.str()] = g.str()
		}
		e.Attributes = append(record.Attributes{}, record.AttributesOf(m)...)
	}
	return e
}

var directions = []record.Direction{
	"", record.DirectionNone, record.DirectionUp, record.DirectionDown,
}

func (g *randomRecords) enriched() record.Enriched {
	e := record.Enriched{
		Event:    g.event(),
		Escalate: g.rng.IntN(2) == 0,
		Provenance: record.Provenance{
			Topic: g.str(), Partition: int32(g.long()), Offset: g.long(),
			WorkerID: g.str(), ProcessedAt: g.time(),
		},
	}
	if g.rng.IntN(2) == 0 {
		e.Classification = &record.Classification{
			Label: g.str(), Confidence: g.float(), ModelVersion: g.str(),
		}
	}
	if g.rng.IntN(2) == 0 {
		e.Anomaly = &record.Anomaly{Score: g.float(), Flagged: g.rng.IntN(2) == 0}
		for range g.size() {
			e.Anomaly.Metrics = append(e.Anomaly.Metrics, record.MetricAnomaly{
				Metric: g.str(), Value: g.float(), Expected: g.float(), Lower: g.float(),
				Upper: g.float(), Direction: directions[g.rng.IntN(len(directions))],
				Contribution: g.float(),
			})
		}
	}
	for range g.size() {
		e.Reasons = append(e.Reasons, g.str())
	}
	return e
}

func (g *randomRecords) escalation() record.Escalation {
	e := record.Escalation{Enriched: g.enriched()}
	for range g.rng.IntN(4) {
		e.Recent = append(e.Recent, g.event())
	}
	for range g.size() {
		e.Baselines = append(e.Baselines, record.Baseline{
			Metric: g.str(), Expected: g.float(), Lower: g.float(), Upper: g.float(),
			Samples: g.long(),
		})
	}
	return e
}

// fewEntries reports whether every map of the events has at most one
// entry, so that goavro's output does not depend on Go's map order.
func fewEntries(events ...*record.Event) bool {
	for _, e := range events {
		if len(e.Metrics) > 1 || len(e.Attributes) > 1 {
			return false
		}
	}
	return true
}

// checkSameBytes compares what the direct encoder wrote with what goavro
// wrote for the same value. Without maps of more than one entry the bytes
// must be identical. With them goavro's entry order is Go's map order, so
// the two must be as long, hold the same bytes, and read back with goavro
// as the same value.
func checkSameBytes(t *testing.T, c *goavro.Codec, got, want []byte, exact bool) {
	t.Helper()
	if exact || bytes.Equal(got, want) {
		if !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", short(got), short(want))
		}
		return
	}
	if len(got) != len(want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	gs, ws := slices.Clone(got), slices.Clone(want)
	slices.Sort(gs)
	slices.Sort(ws)
	if !bytes.Equal(gs, ws) {
		t.Fatal("got other bytes than goavro, not only in another order")
	}
	gv, rest, err := c.NativeFromSingle(got)
	if err != nil || len(rest) > 0 {
		t.Fatalf("goavro cannot read what the direct encoder wrote: %v (%d left)", err, len(rest))
	}
	wv, _, err := c.NativeFromSingle(want)
	if err != nil {
		t.Fatal(err)
	}
	if !sameNative(gv, wv) {
		t.Fatalf("got %v, want %v", gv, wv)
	}
}

// short renders b in hex, cut after 64 bytes.
func short(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%x... (%d bytes)", b[:64], len(b))
	}
	return fmt.Sprintf("%x", b)
}

// sameNative is reflect.DeepEqual for goavro's native values, with a NaN
// equal to itself.
func sameNative(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok || !sameNative(av, bv) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !sameNative(a[i], bs[i]) {
				return false
			}
		}
		return true
	case float64:
		bf, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(bf)
	}
	return reflect.DeepEqual(a, b)
}

func TestDirectEncodersWriteWhatGoavroWrites(t *testing.T) {
	rng := newRand(t)
	enc := newEncoder(t, codec.EncoderOptions{})
	n := 2000
	if testing.Short() {
		n = 200
	}
	for _, mode := range []struct {
		name string
		g    *randomRecords
	}{
		{"maps of at most one entry, byte for byte", &randomRecords{
			rng: rng, badRate: 20, smallMaps: true,
		}},
		{"larger maps, up to the order of entries", &randomRecords{rng: rng, badRate: 20}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			checkEncoders(t, enc, mode.g, n)
		})
	}
}

func checkEncoders(t *testing.T, enc *codec.Encoder, g *randomRecords, n int) {
	ctx := t.Context()
	for range n {
		ev := g.event()
		got, err := enc.Event(ctx, "t", &ev)
		if err != nil {
			t.Fatal(err)
		}
		want, err := schemas.Event.SingleFromNative(nil, ev.Native())
		if err != nil {
			t.Fatal(err)
		}
		checkSameBytes(t, schemas.Event, got, want, fewEntries(&ev))

		en := g.enriched()
		got, err = enc.Enriched(ctx, "t", &en)
		if err != nil {
			t.Fatal(err)
		}
		want, err = schemas.EnrichedEvent.SingleFromNative(nil, en.Native())
		if err != nil {
			t.Fatal(err)
		}
		checkSameBytes(t, schemas.EnrichedEvent, got, want, fewEntries(&en.Event))
	}
	for range n / 4 {
		esc := g.escalation()
		got, err := enc.Escalation(ctx, "t", &esc)
		if err != nil {
			t.Fatal(err)
		}
		want, err := schemas.Escalation.SingleFromNative(nil, esc.Native())
		if err != nil {
			t.Fatal(err)
		}
		events := []*record.Event{&esc.Enriched.Event}
		for i := range esc.Recent {
			events = append(events, &esc.Recent[i])
		}
		checkSameBytes(t, schemas.Escalation, got, want, fewEntries(events...))
	}
}

// TestDirectEncodersSplitBlocksAsGoavro writes maps and arrays longer than
// goavro's block limit, which both split into several blocks.
func TestDirectEncodersSplitBlocksAsGoavro(t *testing.T) {
	n := int(goavro.MaxBlockCount) + 3
	esc := sampleEscalation()
	esc.Enriched.Event.Metrics = make(record.Metrics, n)
	for i := range n {
		esc.Enriched.Event.Metrics[i] = record.Metric{
			Name: string(rune('a'+i%26)) + strings.Repeat("x", i/26), Value: float64(i)}
	}
	esc.Enriched.Reasons = make([]string, n)
	esc.Baselines = make([]record.Baseline, n)

	got, err := newEncoder(t, codec.EncoderOptions{}).Escalation(t.Context(), "t", &esc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := schemas.Escalation.SingleFromNative(nil, esc.Native())
	if err != nil {
		t.Fatal(err)
	}
	checkSameBytes(t, schemas.Escalation, got, want, false)
}

// checkSameDecode decodes value with the direct decoder (through Decode)
// and with goavro and the mapping, and fails unless both succeed with the
// same Event or both fail in the same class with the same reason.
func checkSameDecode(t *testing.T, dec *codec.Decoder, value []byte) {
	t.Helper()
	ctx := context.Background()
	got, gotErr := dec.Decode(ctx, value, meta)
	want, wantErr := codec.DecodeWithGoavro(dec, ctx, value, meta)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("value %s: got error %v, want %v", short(value), gotErr, wantErr)
	case gotErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("value %s:\ngot  %#v\nwant %#v", short(value), got, want)
		}
		return
	case codec.IsPermanent(gotErr) != codec.IsPermanent(wantErr):
		t.Fatalf("value %s: got %v (permanent %v), want %v (permanent %v)", short(value),
			gotErr, codec.IsPermanent(gotErr), wantErr, codec.IsPermanent(wantErr))
	}
	if codec.ReasonOf(gotErr) == codec.ReasonOf(wantErr) {
		return
	}
	// The mapping checks map entries in Go's map order, so with two faulty
	// entries its reason varies from run to run. The direct decoder's must
	// be one it gives.
	for range 200 {
		_, err := codec.DecodeWithGoavro(dec, ctx, value, meta)
		if codec.ReasonOf(err) == codec.ReasonOf(gotErr) {
			return
		}
	}
	t.Fatalf("value %s: got %v, want %v", short(value), gotErr, wantErr)
}

func TestDirectDecoderReadsWhatGoavroReads(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.SeedSchema("events-value", 1, 1, sr.Schema{Schema: schemas.Event.Schema()})
	dec := newDecoder(t, codec.DecoderOptions{Registry: reg.client(t)})
	g := &randomRecords{rng: newRand(t), badRate: 10}
	n := 5000
	if testing.Short() {
		n = 500
	}
	for range n {
		ev := g.event()
		value, err := schemas.Event.SingleFromNative(nil, ev.Native())
		if err != nil {
			t.Fatal(err)
		}
		checkSameDecode(t, dec, value)
		checkSameDecode(t, dec, confluent(1, value[10:]))
	}
}

// eventValue frames the parts of a triage.Event's Avro binary in the
// single-object encoding.
func eventValue(parts ...[]byte) []byte {
	b := []byte{0xC3, 0x01}
	b = binary.LittleEndian.AppendUint64(b, schemas.Event.Rabin)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func avroLong(v int64) []byte    { return binary.AppendVarint(nil, v) }
func avroString(s string) []byte { return append(avroLong(int64(len(s))), s...) }

func avroDouble(f float64) []byte {
	return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f))
}

// TestDirectDecoderAgreesOnOddEncodings feeds encodings goavro never
// writes but reads, and ones it refuses.
func TestDirectDecoderAgreesOnOddEncodings(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	head := slices.Concat(avroString("i"), avroLong(1), avroString("s"), avroString("e"))
	null := avroLong(0)
	none := avroLong(0)
	metric := func(k string, f float64) []byte {
		return slices.Concat(avroString(k), avroDouble(f))
	}
	for _, tt := range []struct {
		name  string
		value []byte
		want  codec.Reason // "" for success
	}{
		{"metrics in two blocks", eventValue(head, null,
			avroLong(1), metric("a", 1), avroLong(1), metric("b", 2), none, none), ""},
		{"a negative block count with a byte size", eventValue(head, null,
			avroLong(-2), avroLong(18), metric("a", 1), metric("b", 2), none, none), ""},
		{"a negative block count with a wrong byte size", eventValue(head, null, none,
			avroLong(-1), avroLong(-7), avroString("k"), avroString("v"), none), ""},
		{"a zero length written in two bytes", eventValue([]byte{0x80, 0x00}, avroLong(1),
			avroString("s"), avroString("e"), null, none, none), ""},
		{"a time in eleven bytes, bits past the 64th dropped", eventValue(avroString("i"),
			[]byte{0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xfe, 0x00},
			avroString("s"), avroString("e"), null, none, none), ""},
		{"an empty text, which is not a null one", eventValue(head, avroLong(1),
			avroString(""), none, none), ""},
		{"no id and no source, which take defaults", eventValue(avroString(""), avroLong(1),
			avroString(""), avroString("e"), null, none, none), ""},
		{"a time after the year 9999", eventValue(avroString("i"), avroLong(253402300800000),
			avroString("s"), avroString("e"), null, none, none), codec.ReasonInvalidTime},
		{"a time before the year 1", eventValue(avroString("i"), avroLong(-62135596800001),
			avroString("s"), avroString("e"), null, none, none), codec.ReasonInvalidTime},
		{"a bad metric name and a NaN metric", eventValue(head, null, avroLong(2),
			metric("\xff", 1), metric("n", math.NaN()), none, none), codec.ReasonInvalidUTF8},
		{"a NaN metric and a bad attribute", eventValue(head, null, avroLong(1),
			metric("n", math.NaN()), none, avroLong(1), avroString("k"), avroString("\xff"),
			none), codec.ReasonInvalidMetric},
		{"an empty entity and a bad id", eventValue(avroString("\xff"), avroLong(1),
			avroString("s"), avroString(""), null, none, none), codec.ReasonMissingEntity},

		{"a metric name repeated in another block", eventValue(head, null,
			avroLong(1), metric("a", 1), avroLong(1), metric("a", 2), none, none),
			codec.ReasonTruncatedAvro},
		{"an attribute repeated in one block", eventValue(head, null, none, avroLong(2),
			avroString("k"), avroString("v"), avroString("k"), avroString("v"), none),
			codec.ReasonTruncatedAvro},
		{"a byte after the datum", eventValue(head, null, none, none, []byte{0}),
			codec.ReasonTruncatedAvro},
		{"a text union index of 2", eventValue(head, avroLong(2), avroString("t"), none, none),
			codec.ReasonTruncatedAvro},
		{"a text union index of -1", eventValue(head, avroLong(-1), none, none),
			codec.ReasonTruncatedAvro},
		{"a negative string length", eventValue(avroLong(-1)), codec.ReasonTruncatedAvro},
		{"a block count of the smallest long", eventValue(head, null,
			avroLong(math.MinInt64), none), codec.ReasonTruncatedAvro},
		{"a negative block count without its byte size", eventValue(head, null,
			avroLong(-1)), codec.ReasonTruncatedAvro},
		{"a metric cut short", eventValue(head, null, avroLong(1), avroString("a"),
			[]byte{0, 0, 0}), codec.ReasonTruncatedAvro},
		{"a varint that never ends", eventValue(head, null, []byte{0x80, 0x80}),
			codec.ReasonTruncatedAvro},
		{"no maps at all", eventValue(head, null), codec.ReasonTruncatedAvro},
		{"nothing after the header", eventValue(), codec.ReasonTruncatedAvro},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkSameDecode(t, dec, tt.value)
			_, err := dec.Decode(t.Context(), tt.value, meta)
			if got := codec.ReasonOf(err); got != tt.want {
				t.Errorf("got reason %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

// TestDirectDecoderRefusesHugeCountsCheaply checks that lengths and counts
// beyond the bytes left fail before anything is allocated for them.
// TestDirectDecoderSortsMapEntries reads maps whose entries are out of
// order on the wire, and more than insertion sort is used for, and checks
// that the Event has them sorted by name, as the goavro path gives them.
func TestDirectDecoderSortsMapEntries(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	head := slices.Concat(avroString("i"), avroLong(1), avroString("s"), avroString("e"))
	for _, n := range []int{3, 40} {
		var metrics, attrs []byte
		want := make(map[string]float64, n)
		wantAttrs := make(map[string]string, n)
		for i := n - 1; i >= 0; i-- { // descending names
			k := fmt.Sprintf("k%03d", i)
			metrics = slices.Concat(metrics, avroString(k), avroDouble(float64(i)))
			attrs = slices.Concat(attrs, avroString(k), avroString(k+"v"))
			want[k], wantAttrs[k] = float64(i), k+"v"
		}
		value := eventValue(head, avroLong(0), avroLong(int64(n)), metrics, avroLong(0),
			avroLong(int64(n)), attrs, avroLong(0))
		checkSameDecode(t, dec, value)
		ev, err := dec.Decode(t.Context(), value, meta)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ev.Metrics, record.MetricsOf(want); !reflect.DeepEqual(got, want) {
			t.Errorf("%d metrics: got %v, want %v", n, got, want)
		}
		gotAttrs := ev.Attributes
		if want := record.AttributesOf(wantAttrs); !reflect.DeepEqual(gotAttrs, want) {
			t.Errorf("%d attributes: got %v, want %v", n, gotAttrs, want)
		}
	}
}

func TestDirectDecoderRefusesHugeCountsCheaply(t *testing.T) {
	dec := newDecoder(t, codec.DecoderOptions{})
	head := slices.Concat(avroString("i"), avroLong(1), avroString("s"), avroString("e"),
		avroLong(0))
	for _, tt := range []struct {
		name  string
		value []byte
	}{
		{"a string of 2^62 bytes", eventValue(avroLong(1 << 62))},
		{"a text of 2^40 bytes", eventValue(head[:len(head)-1], avroLong(1), avroLong(1<<40))},
		{"metrics at goavro's block limit", eventValue(head, avroLong(goavro.MaxBlockCount))},
		{"attributes at goavro's block limit", eventValue(head, avroLong(0),
			avroLong(-goavro.MaxBlockCount), avroLong(1))},
		{"metrics beyond the limit", eventValue(head, avroLong(math.MaxInt64))},
		{"a second block beyond the bytes left", eventValue(head, avroLong(1),
			avroString("a"), avroDouble(1), avroLong(60_000), avroString("b"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkSameDecode(t, dec, tt.value)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const runs = 100
			for range runs {
				_, err := dec.Decode(t.Context(), tt.value, meta)
				if got := codec.ReasonOf(err); got != codec.ReasonTruncatedAvro {
					t.Fatalf("got reason %q (%v), want %q", got, err, codec.ReasonTruncatedAvro)
				}
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > 2048 {
				t.Errorf("got %d bytes allocated per decode, want at most 2048", per)
			}
		})
	}
}

func TestDirectDecoderRouting(t *testing.T) {
	millis := schemas.Event.Schema()
	micros := strings.Replace(millis, "timestamp-millis", "timestamp-micros", 1)
	plainLong := strings.Replace(millis, `, "logicalType": "timestamp-millis"`, "", 1)
	if micros == millis || plainLong == millis {
		t.Fatal("the schema text changed; update the replacements")
	}
	reg := newFakeRegistry(t)
	reg.SeedSchema("a-value", 1, 1, sr.Schema{Schema: millis})
	reg.SeedSchema("b-value", 1, 2, sr.Schema{Schema: micros})
	reg.SeedSchema("c-value", 1, 3, sr.Schema{Schema: plainLong})
	cl := reg.client(t)

	ev := sampleEvent()
	single := singleObject(t, ev)
	enr := sampleEnriched()
	enriched, err := newEncoder(t, codec.EncoderOptions{}).Enriched(t.Context(), "out", &enr)
	if err != nil {
		t.Fatal(err)
	}
	spelledOut := config.Mapping{ID: "id", EventTime: "event_time", Source: "source",
		Entity: "entity", Text: "text", Metrics: "metrics", Attributes: "attributes"}

	for _, tt := range []struct {
		name  string
		opts  codec.DecoderOptions
		value []byte
		want  bool
	}{
		{"triage.Event with the default mapping", codec.DecoderOptions{}, single, true},
		{"triage.Event with the default paths spelled out",
			codec.DecoderOptions{Mapping: spelledOut}, single, true},
		{"triage.Event with another path", codec.DecoderOptions{
			Mapping: config.Mapping{Source: "id"}}, single, false},
		{"triage.Event with a metric field", codec.DecoderOptions{Mapping: config.Mapping{
			MetricFields: map[string]string{"m": "metrics.disk_used"}}}, single, false},
		{"triage.Event under an extra schema read as timestamp-micros",
			codec.DecoderOptions{Schemas: []string{micros}}, single, false},
		{"triage.EnrichedEvent", codec.DecoderOptions{}, enriched, false},
		{"the registry's triage.Event", codec.DecoderOptions{Registry: cl},
			confluent(1, single[10:]), true},
		{"the registry's triage.Event read as timestamp-micros",
			codec.DecoderOptions{Registry: cl}, confluent(2, single[10:]), false},
		{"the registry's triage.Event with a plain long time",
			codec.DecoderOptions{Registry: cl}, confluent(3, single[10:]), false},
		{"JSON", codec.DecoderOptions{}, []byte(`{"entity": "x"}`), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dec := newDecoder(t, tt.opts)
			got, err := codec.DecodesDirectly(dec, t.Context(), tt.value)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got direct %v, want %v", got, tt.want)
			}
			checkSameDecode(t, dec, tt.value)
		})
	}

	// What the routing guards against: read as microseconds, the same
	// bytes are another time.
	dec := newDecoder(t, codec.DecoderOptions{Registry: cl})
	got, err := dec.Decode(t.Context(), confluent(2, single[10:]), meta)
	if err != nil {
		t.Fatal(err)
	}
	want := time.UnixMicro(ev.Time.UnixMilli()).UTC().Truncate(time.Millisecond)
	if !got.Time.Equal(want) {
		t.Errorf("got time %v, want %v", got.Time, want)
	}
}
