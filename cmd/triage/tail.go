package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/schemas"
)

// tailOpts are the flags of "triage tail".
type tailOpts struct {
	conn   connFlags
	topics []string
	follow bool
	from   string
	json   bool
	max    int64
	// quiet is how long a bounded tail waits for a record before it stops
	// short of the end offsets (see tailer.run).
	quiet time.Duration
}

const tailUsage = `usage: triage tail [flags] TOPIC...

Prints the committed records of triage topics, decoded: events, enriched
events, escalations, explanations (Avro, single-object or Confluent with a
schema registry, or JSON), and dead letters with their triage.* headers and
the original value as text or hex. Without --follow it stops at the end
offsets seen when it starts.
`

func runTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := tailOpts{quiet: 5 * time.Second}
	fs := usageFlagSet("tail", tailUsage, stderr)
	o.conn.register(fs, true)
	fs.BoolVar(&o.follow, "follow", false, "keep printing records as they are committed")
	fs.StringVar(&o.from, "from", "earliest", "where to start in each partition: earliest, "+
		"latest, or -N for the last N records of each partition")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per record instead of text")
	fs.Int64Var(&o.max, "max", 0, "stop after this many records (0: no limit)")
	// Flags may come after the topics too: parse again past each topic.
	for rest := args; ; rest = fs.Args()[1:] {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		o.topics = append(o.topics, fs.Arg(0))
	}
	if len(o.topics) == 0 {
		fmt.Fprintln(stderr, "triage tail: name at least one topic")
		fs.Usage()
		return errUsage
	}
	if _, err := parseFrom(o.from); err != nil || o.max < 0 {
		fmt.Fprintf(stderr, "triage tail: -from %q, -max %d: want earliest, latest or -N, "+
			"and a max of 0 or more\n", o.from, o.max)
		return errUsage
	}
	cfg, err := o.conn.load()
	if err != nil {
		return err
	}
	reg, err := newRegistry(cfg.SchemaRegistry)
	if err != nil {
		return err
	}
	// The worker's extra schemas, so that its input topic reads too.
	var extra []string
	for _, f := range cfg.Input.SchemaFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("unable to read schema file: %w", err)
		}
		extra = append(extra, string(b))
	}
	dec, err := codec.NewDecoder(codec.DecoderOptions{Schemas: extra, Registry: reg})
	if err != nil {
		return err
	}
	t := &tailer{opts: o, cfg: cfg, dec: dec, out: bufio.NewWriter(stdout), stderr: stderr}
	return t.run(ctx)
}

// parseFrom reads -from: 0 for earliest, math.MinInt64 for latest, -N for
// the last N records.
func parseFrom(s string) (int64, error) {
	switch s {
	case "earliest":
		return 0, nil
	case "latest":
		return math.MinInt64, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n >= 0 || n == math.MinInt64 || !strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("-from %q: want earliest, latest or -N", s)
	}
	return n, nil
}

// tailer prints the records of some topics.
type tailer struct {
	opts    tailOpts
	cfg     config.Config
	dec     *codec.Decoder
	out     *bufio.Writer
	stderr  io.Writer
	parts   map[string]map[int32]*tailPartition
	printed int64
}

// tailPartition is where a tail stands in one partition.
//
// With read_committed the end is the last stable offset, and the offsets
// below it hold records of committed transactions and of none, which are
// printed, records of aborted transactions, which the client drops, and
// transaction markers, which it hands over as control records because the
// client keeps them. The end is reached when a record or marker at end-1
// arrives.
type tailPartition struct {
	end      int64 // the end offset when the tail started
	logStart int64 // the first offset the partition still holds
	from     int64 // where reading started
	// last, for -from -N, is N: the records before the end are held in
	// held, the latest N of them, and printed once the end is reached. If
	// fewer than N came, reading starts again twice as far back.
	last    int64
	held    []*kgo.Record
	reached bool
}

// run prints records from where -from says until ctx ends (-follow), -max
// records are printed, or, without -follow, every partition has reached
// the end offset it had when run started.
//
// A partition whose last offsets are records the client never hands over
// (of an aborted transaction whose marker lies past the end, or removed by
// compaction) would hold a tail without -follow forever, so one that sees
// no record for opts.quiet prints what it holds and stops, saying which
// partitions it left short.
func (t *tailer) run(ctx context.Context) error {
	ends, starts, err := t.listOffsets(ctx)
	if err != nil {
		return err
	}
	from, _ := parseFrom(t.opts.from)
	consume := map[string]map[int32]kgo.Offset{}
	t.parts = map[string]map[int32]*tailPartition{}
	for _, topic := range t.opts.topics {
		ps, ok := ends[topic]
		if !ok {
			return fmt.Errorf("topic %s does not exist", topic)
		}
		consume[topic] = map[int32]kgo.Offset{}
		t.parts[topic] = map[int32]*tailPartition{}
		for p, end := range ps {
			if errors.Is(end.Err, kerr.UnknownTopicOrPartition) {
				return fmt.Errorf("topic %s does not exist", topic)
			}
			if end.Err != nil {
				return fmt.Errorf("unable to list the offsets of %s partition %d: %w", topic, p,
					end.Err)
			}
			start, _ := starts.Lookup(topic, p)
			tp := &tailPartition{end: end.Offset, logStart: start.Offset, from: start.Offset}
			switch {
			case from == math.MinInt64:
				tp.from = end.Offset
			case from < 0:
				tp.last = -from
				tp.from = max(start.Offset, end.Offset+from)
			}
			tp.reached = tp.from >= tp.end
			consume[topic][p] = kgo.NewOffset().At(tp.from)
			t.parts[topic][p] = tp
		}
	}
	if !t.opts.follow && t.allReached() {
		return nil
	}

	cl, err := newClient(t.cfg, kgo.ConsumePartitions(consume),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !t.opts.follow {
			pctx, cancel = context.WithTimeout(ctx, t.opts.quiet)
		}
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil || fs.IsClientClosed() {
			return t.out.Flush()
		}
		if pctx.Err() != nil && fs.NumRecords() == 0 {
			t.reportShort(ctx)
			return t.out.Flush()
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return errors.Join(t.out.Flush(), fmt.Errorf("unable to read %s partition %d: %w",
					fe.Topic, fe.Partition, fe.Err))
			}
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			tp := t.parts[fp.Topic][fp.Partition]
			for _, r := range fp.Records {
				if t.done() || !t.take(ctx, cl, tp, r) {
					return
				}
			}
		})
		if err := t.out.Flush(); err != nil {
			return fmt.Errorf("unable to write: %w", err)
		}
		if t.done() || (!t.opts.follow && t.allReached()) {
			return nil
		}
	}
}

// take prints, holds or skips r, a record of tp, and returns false when
// the partition's other records of the fetch must be skipped because
// reading starts again further back.
func (t *tailer) take(ctx context.Context, cl *kgo.Client, tp *tailPartition,
	r *kgo.Record) bool {
	switch {
	case r.Offset >= tp.end && !t.opts.follow:
		// Past the end seen at the start: not printed, but the end is
		// behind, even if the record at end-1 never came.
	case r.Attrs.IsControl():
	case tp.last > 0 && !tp.reached:
		tp.held = append(tp.held, r)
		if int64(len(tp.held)) > tp.last {
			tp.held = tp.held[1:]
		}
	default:
		t.print(ctx, r)
	}
	if tp.reached || r.Offset+1 < tp.end {
		return true
	}
	if tp.last > 0 && int64(len(tp.held)) < tp.last && tp.from > tp.logStart {
		// Markers and aborted records took some of the last N offsets.
		tp.from = max(tp.logStart, tp.end-2*(tp.end-tp.from))
		tp.held = tp.held[:0]
		cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{
			r.Topic: {r.Partition: {Epoch: -1, Offset: tp.from}},
		})
		return false
	}
	tp.reached = true
	t.printHeld(ctx, tp)
	return true
}

// printHeld prints the records tp holds, up to -max.
func (t *tailer) printHeld(ctx context.Context, tp *tailPartition) {
	for _, r := range tp.held {
		if t.done() {
			break
		}
		t.print(ctx, r)
	}
	tp.held = nil
}

func (t *tailer) done() bool { return t.opts.max > 0 && t.printed >= t.opts.max }

func (t *tailer) allReached() bool {
	for _, ps := range t.parts {
		for _, tp := range ps {
			if !tp.reached {
				return false
			}
		}
	}
	return true
}

// listOffsets returns the last stable and the start offsets of every
// partition of the topics.
func (t *tailer) listOffsets(ctx context.Context) (ends, starts kadm.ListedOffsets, err error) {
	cl, err := newClient(t.cfg)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	ends, err = adm.ListCommittedOffsets(ctx, t.opts.topics...)
	if err == nil {
		starts, err = adm.ListStartOffsets(ctx, t.opts.topics...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("unable to list the offsets of %s: %w",
			strings.Join(t.opts.topics, ", "), err)
	}
	return ends, starts, nil
}

// reportShort prints what the partitions short of their end hold and
// tells stderr which they are.
func (t *tailer) reportShort(ctx context.Context) {
	var short []string
	for topic, ps := range t.parts {
		for p, tp := range ps {
			if !tp.reached {
				t.printHeld(ctx, tp)
				short = append(short, fmt.Sprintf("%s/%d (end %d)", topic, p, tp.end))
			}
		}
	}
	if len(short) == 0 {
		return
	}
	slices.Sort(short)
	fmt.Fprintf(t.stderr, "triage tail: no record for %v; stopping before the end offsets of "+
		"%s (the last offsets may be aborted or compacted records)\n", t.opts.quiet,
		strings.Join(short, ", "))
}

// print writes r, decoded, as a text block or a JSON line, and counts it.
func (t *tailer) print(ctx context.Context, r *kgo.Record) {
	t.printed++
	v := t.view(ctx, r)
	if t.opts.json {
		b, err := json.Marshal(v)
		if err != nil {
			b, _ = json.Marshal(object{{"topic", r.Topic}, {"partition", r.Partition},
				{"offset", r.Offset}, {"error", err.Error()}})
		}
		t.out.Write(b)
		t.out.WriteByte('\n')
		return
	}
	writeText(t.out, v)
}

// view returns what is shown of r: its coordinates, key and headers, then
// the decoded value, or for a dead letter the triage.* headers and the
// original value, or for a value that does not decode the error and the
// raw bytes.
func (t *tailer) view(ctx context.Context, r *kgo.Record) object {
	o := object{
		{"topic", r.Topic},
		{"partition", r.Partition},
		{"offset", r.Offset},
		{"timestamp", r.Timestamp.UTC().Format(eventTimeLayout)},
	}
	if r.Key != nil {
		o = append(o, bytesMember("key", r.Key))
	}
	var own object
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, "triage.") {
			own = append(own, bytesMember(h.Key, h.Value))
		}
	}
	if len(own) > 0 {
		o = append(o, member{"headers", own})
	}

	if reason, ok := pipeline.Header(r, pipeline.HeaderReason); ok {
		dl := object{{"reason", reason}}
		for _, h := range []struct{ key, name string }{
			{pipeline.HeaderError, "error"},
			{pipeline.HeaderSourceTopic, "source_topic"},
			{pipeline.HeaderSourcePartition, "source_partition"},
			{pipeline.HeaderSourceOffset, "source_offset"},
			{pipeline.HeaderSourceTimestamp, "source_timestamp"},
			{pipeline.HeaderWorker, "worker"},
		} {
			if v, ok := pipeline.Header(r, h.key); ok {
				dl = append(dl, member{h.name, v})
			}
		}
		return append(o, member{"dead_letter", dl}, bytesMember("value", r.Value))
	}

	name, native, err := t.dec.Native(ctx, r.Value)
	if err != nil {
		return append(o, member{"decode_error", err.Error()}, bytesMember("value", r.Value))
	}
	if name == "" {
		name = "json"
	}
	return append(o, member{"schema", name}, member{"value", plainValue(name, native)})
}

// bytesMember shows b under key as text when it is printable UTF-8, else
// as hex under key_hex.
func bytesMember(key string, b []byte) member {
	if isText(b) {
		return member{key, string(b)}
	}
	return member{key + "_hex", hex.EncodeToString(b)}
}

// isText reports whether b is valid UTF-8 without control characters other
// than tab and newline.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			return false
		}
	}
	return true
}

// object is a JSON object that keeps its keys in order.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// builtinTypes are the parsed built-in schemas, by full name.
var builtinTypes = func() map[string]*avroType {
	m := map[string]*avroType{}
	for _, name := range schemas.Names() {
		src, _ := schemas.Source(name)
		t, err := parseAvroSchema(src)
		if err != nil {
			panic(fmt.Sprintf("built-in schema %s: %v", name, err)) // tested
		}
		m[name] = t
	}
	return m
}()

// plainValue turns goavro's native form of a value of the named schema
// into plain values that print well: records as objects in field order,
// unions as their branch's value, timestamps as RFC 3339 text. For a
// schema that is not built in (from a registry, say), it does what it can
// without the schema: map keys sorted, union wrappers left in.
func plainValue(schema string, native any) any {
	if t, ok := builtinTypes[schema]; ok {
		return plainTyped(t, native)
	}
	return plainAny(native)
}

// avroType is as much of an Avro schema as plainTyped needs.
type avroType struct {
	kind     string // a primitive, or record, enum, array, map, fixed, union
	name     string // full name of a record, enum or fixed
	logical  string // logicalType of a primitive
	fields   []avroField
	items    *avroType   // of an array, or the values of a map
	branches []*avroType // of a union
}

type avroField struct {
	name string
	typ  *avroType
}

// branchKey is how goavro names a union branch of type t in native form.
func (t *avroType) branchKey() string {
	switch {
	case t.name != "":
		return t.name
	case t.logical != "":
		return t.kind + "." + t.logical
	}
	return t.kind
}

func parseAvroSchema(text string) (*avroType, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	return parseAvroType(v, "", map[string]*avroType{})
}

func isPrimitive(s string) bool {
	switch s {
	case "null", "boolean", "int", "long", "float", "double", "bytes", "string":
		return true
	}
	return false
}

// parseAvroType parses one schema in namespace ns; names holds the named
// types defined so far, by full name.
func parseAvroType(v any, ns string, names map[string]*avroType) (*avroType, error) {
	switch x := v.(type) {
	case string:
		if isPrimitive(x) {
			return &avroType{kind: x}, nil
		}
		if t, ok := names[fullName(x, ns)]; ok {
			return t, nil
		}
		if t, ok := names[x]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("unknown type %q", x)
	case []any:
		u := &avroType{kind: "union"}
		for _, b := range x {
			t, err := parseAvroType(b, ns, names)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, t)
		}
		return u, nil
	case map[string]any:
		return parseAvroObject(x, ns, names)
	}
	return nil, fmt.Errorf("unexpected schema %v", v)
}

func parseAvroObject(x map[string]any, ns string, names map[string]*avroType) (*avroType, error) {
	kind, _ := x["type"].(string)
	if kind == "" {
		// {"type": {...}} is a schema wrapped once more.
		return parseAvroType(x["type"], ns, names)
	}
	t := &avroType{kind: kind}
	switch kind {
	case "record", "error", "enum", "fixed":
		name, _ := x["name"].(string)
		if space, ok := x["namespace"].(string); ok && !strings.Contains(name, ".") {
			ns = space
		}
		t.name = fullName(name, ns)
		if i := strings.LastIndexByte(t.name, '.'); i >= 0 {
			ns = t.name[:i]
		}
		names[t.name] = t
		if kind == "error" {
			t.kind = "record"
		}
		fields, _ := x["fields"].([]any)
		for _, f := range fields {
			fm, _ := f.(map[string]any)
			fname, _ := fm["name"].(string)
			ft, err := parseAvroType(fm["type"], ns, names)
			if err != nil {
				return nil, fmt.Errorf("field %s.%s: %w", t.name, fname, err)
			}
			t.fields = append(t.fields, avroField{fname, ft})
		}
	case "array", "map":
		key := "items"
		if kind == "map" {
			key = "values"
		}
		items, err := parseAvroType(x[key], ns, names)
		if err != nil {
			return nil, err
		}
		t.items = items
	default:
		if !isPrimitive(kind) {
			return parseAvroType(kind, ns, names)
		}
		t.logical, _ = x["logicalType"].(string)
	}
	return t, nil
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

// plainTyped converts v, goavro's native form of a value of type t.
func plainTyped(t *avroType, v any) any {
	switch t.kind {
	case "record":
		m, ok := v.(map[string]any)
		if !ok {
			return plainAny(v)
		}
		o := make(object, 0, len(t.fields))
		for _, f := range t.fields {
			o = append(o, member{f.name, plainTyped(f.typ, m[f.name])})
		}
		return o
	case "union":
		m, ok := v.(map[string]any)
		if v == nil || !ok || len(m) != 1 {
			return plainAny(v)
		}
		for key, bv := range m {
			for _, b := range t.branches {
				if b.branchKey() == key {
					return plainTyped(b, bv)
				}
			}
		}
		return plainAny(v)
	case "array":
		a, ok := v.([]any)
		if !ok {
			return plainAny(v)
		}
		out := make([]any, len(a))
		for i, x := range a {
			out[i] = plainTyped(t.items, x)
		}
		return out
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return plainAny(v)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		o := make(object, 0, len(m))
		for _, k := range keys {
			o = append(o, member{k, plainTyped(t.items, m[k])})
		}
		return o
	}
	return plainAny(v)
}

// plainAny converts a native or JSON value without its schema.
func plainAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return plainTyped(&avroType{kind: "map", items: &avroType{kind: "any"}}, x)
	case []any:
		return plainTyped(&avroType{kind: "array", items: &avroType{kind: "any"}}, x)
	case time.Time:
		return x.UTC().Format(eventTimeLayout)
	case []byte:
		return hex.EncodeToString(x)
	case float64:
		return finite(x)
	case float32:
		return finite(float64(x))
	}
	return v
}

// finite returns f, or its name when JSON has no number for it.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

// textInline is the widest an object or array is printed on one line.
const textInline = 96

// writeText writes the view of one record as a block: a head line with
// the record's coordinates, key and schema, then the other members (those
// of a decoded value without the "value:" level) indented, then a blank
// line. Null and empty members are left out.
func writeText(w *bufio.Writer, v object) {
	var head []string
	var rest object
	for _, m := range v {
		switch m.key {
		case "topic":
			head = append(head, fmt.Sprint(m.value))
		case "partition":
			head[len(head)-1] += fmt.Sprintf("/%v", m.value)
		case "offset":
			head[len(head)-1] += fmt.Sprintf("@%v", m.value)
		case "timestamp", "schema":
			head = append(head, fmt.Sprint(m.value))
		case "key", "key_hex":
			head = append(head, m.key+"="+inlineText(m.value))
		case "dead_letter":
			head = append(head, "dead letter")
			rest = append(rest, m.value.(object)...)
		case "value":
			if o, ok := m.value.(object); ok {
				rest = append(rest, o...)
				continue
			}
			rest = append(rest, m)
		default:
			rest = append(rest, m)
		}
	}
	w.WriteString(strings.Join(head, "  "))
	w.WriteByte('\n')
	writeMembers(w, rest, "  ", "  ")
	w.WriteByte('\n')
}

// writeMembers writes the non-empty members of o one per line, the first
// after first and the others after indent (they differ for an item of a
// list, whose first line starts with "- ").
func writeMembers(w *bufio.Writer, o object, first, indent string) {
	prefix := first
	for _, m := range o {
		if isEmpty(m.value) {
			continue
		}
		w.WriteString(prefix)
		prefix = indent
		w.WriteString(m.key)
		w.WriteString(":")
		writeValue(w, m.value, indent)
	}
}

// writeValue writes v after "key:" on the same line when it fits, else on
// the lines below, indented once more.
func writeValue(w *bufio.Writer, v any, indent string) {
	s, ok := v.(string)
	if !ok {
		s = inlineText(v)
	} else if needsQuotes(s, "") {
		s = strconv.Quote(s)
	}
	if len(indent)+len(s) <= textInline {
		w.WriteString(" ")
		w.WriteString(s)
		w.WriteByte('\n')
		return
	}
	w.WriteByte('\n')
	inner := indent + "  "
	switch x := v.(type) {
	case object:
		writeMembers(w, x, inner, inner)
	case []any:
		for _, item := range x {
			if o, ok := item.(object); ok && len(inner)+len(inlineText(o)) > textInline {
				writeMembers(w, o, inner+"- ", inner+"  ")
				continue
			}
			w.WriteString(inner)
			w.WriteString("-")
			writeValue(w, item, inner)
		}
	default: // a long string, quoted if it has to be
		w.WriteString(inner)
		w.WriteString(s)
		w.WriteByte('\n')
	}
}

// needsQuotes reports whether s, printed bare, would be misread: empty,
// with white space around it or control characters in it, or holding one
// of special.
func needsQuotes(s, special string) bool {
	if s == "" || strings.TrimSpace(s) != s || strings.ContainsAny(s, special) {
		return true
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// inlineText renders v on one line: objects as {k: v, ...}, arrays as
// [a, b], strings bare unless they hold what would make that ambiguous.
func inlineText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case object:
		parts := make([]string, 0, len(x))
		for _, m := range x {
			if !isEmpty(m.value) {
				parts = append(parts, m.key+": "+inlineText(m.value))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, item := range x {
			parts[i] = inlineText(item)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		if needsQuotes(x, ",{}[]\"") || strings.Contains(x, ": ") {
			return strconv.Quote(x)
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// isEmpty reports whether v is null, an empty object or an empty array.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case object:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
