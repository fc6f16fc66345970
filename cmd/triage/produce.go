package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/gen"
	"github.com/streamtriage/triage/pkg/record"
)

// Formats of the records "triage produce" writes.
const (
	formatAvro = "avro"
	formatJSON = "json"
)

// eventTimeLayout is how produce writes event times in JSON: RFC 3339 in
// UTC with milliseconds, which the worker reads back exactly.
const eventTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// produceOpts are the flags of "triage produce".
type produceOpts struct {
	conn        connFlags
	topic       string
	file        string
	generate    int64 // events to generate, 0 for no end, when genSet
	genSet      bool  // -generate was given
	rate        float64
	format      string
	seed        uint64
	poisonEvery int
}

const produceUsage = `usage: triage produce [--topic T] (--file FILE | --generate N) [flags]

Writes triage Events to a topic, keyed by entity, in Avro (single-object
encoding, or the Confluent wire format with a schema registry) or JSON.

--file reads JSON lines (.jsonl, .ndjson, .json, or - for standard input), one
Event per line with the fields of the worker's input: id, event_time (RFC 3339
or epoch milliseconds), source, entity (required), text, metrics (an object of
numbers) and attributes (an object of strings). A CSV file (.csv) has a header
row naming its columns: id, event_time, source, entity, text, metric.NAME (a
number; an empty cell means no such metric) and attr.NAME (a string). An event
without event_time gets the time it is read, without source the file's base
name, without id FILE-0-LINE. A file is checked whole before anything is
produced; a bad row is an error naming its line.

--generate N writes N events of the built-in generator (0: until interrupted).
`

func runProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o produceOpts
	fs := usageFlagSet("produce", produceUsage, stderr)
	o.conn.register(fs, true)
	fs.StringVar(&o.topic, "topic", "", "topic to write (default: the configuration's first "+
		"input topic, events)")
	fs.StringVar(&o.file, "file", "", "JSON-lines or CSV file of events (- for JSON lines on "+
		"standard input)")
	fs.Int64Var(&o.generate, "generate", 0, "generate this many events (0: until "+
		"interrupted)")
	fs.Float64Var(&o.rate, "rate", 0, "records per second at most (0: as fast as the "+
		"broker takes them)")
	fs.StringVar(&o.format, "format", formatAvro, "value format: avro or json")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generator")
	fs.IntVar(&o.poisonEvery, "poison-every", 0, "with -generate, make every Nth record "+
		"undecodable, for the dead-letter topic (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { o.genSet = o.genSet || f.Name == "generate" })
	if bad := o.check(); bad != "" {
		fmt.Fprintln(stderr, "triage produce:", bad)
		fs.Usage()
		return errUsage
	}
	cfg, err := o.conn.load()
	if err != nil {
		return err
	}
	if o.topic == "" {
		o.topic = cfg.Input.Topics[0]
	}
	reg, err := newRegistry(cfg.SchemaRegistry)
	if err != nil {
		return err
	}
	enc, err := codec.NewEncoder(codec.EncoderOptions{Registry: reg})
	if err != nil {
		return err
	}

	var src eventSource
	if o.file != "" {
		if o.file != "-" {
			// A bad row found halfway would leave half the file produced.
			if n, err := checkFile(o.file); err != nil {
				return err
			} else if n == 0 {
				fmt.Fprintf(stdout, "%s holds no events; nothing produced\n", o.file)
				return nil
			}
		}
		s, closeFile, err := openEventFile(o.file)
		if err != nil {
			return err
		}
		defer closeFile()
		src = s
	} else {
		src = newGenSource(o)
	}

	cl, err := newClient(cfg, kgo.DefaultProduceTopic(o.topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	p := &producer{cl: cl, enc: enc, topic: o.topic, format: o.format}
	start := time.Now()
	err = p.run(ctx, src, o.rate)
	elapsed := time.Since(start)
	n := p.acked.Load()
	fmt.Fprintf(stdout, "produced %d records to %s in %.1fs (%.0f records/s)\n", n, o.topic,
		elapsed.Seconds(), float64(n)/max(elapsed.Seconds(), 1e-9))
	return err
}

// check returns what is wrong with the flags, or "".
func (o *produceOpts) check() string {
	switch {
	case (o.file == "") == !o.genSet:
		return "give exactly one of -file and -generate"
	case o.generate < 0:
		return fmt.Sprintf("-generate %d: want 0 or more", o.generate)
	case o.format != formatAvro && o.format != formatJSON:
		return fmt.Sprintf("-format %q: want avro or json", o.format)
	case o.rate < 0 || math.IsNaN(o.rate) || math.IsInf(o.rate, 0):
		return fmt.Sprintf("-rate %v: want a number of records per second, or 0", o.rate)
	case o.poisonEvery < 0:
		return fmt.Sprintf("-poison-every %d: want 0 or more", o.poisonEvery)
	case o.poisonEvery > 0 && o.file != "":
		return "-poison-every goes with -generate"
	}
	return ""
}

// item is one record to produce: an event, or a raw value that is not one
// (a poison record of the generator).
type item struct {
	ev  record.Event
	raw []byte // set for a poison record; ev is then unused
}

// eventSource yields the records to produce, in order. next returns io.EOF
// after the last one.
type eventSource interface {
	next() (item, error)
}

// producer writes items to one topic, keyed by entity.
type producer struct {
	cl     *kgo.Client
	enc    *codec.Encoder
	topic  string
	format string

	acked   atomic.Int64 // records the broker acknowledged
	errOnce sync.Once
	failed  atomic.Pointer[error] // the first produce error
}

// producerFlushTimeout bounds the wait for records in flight at the end,
// or after an interruption.
const producerFlushTimeout = 30 * time.Second

// run produces every item of src, at most rate per second when rate > 0,
// and returns once all are acknowledged. It stops at the first error of
// src, of encoding or of the broker; when ctx ends it stops reading,
// waits for the records in flight and returns nil.
func (p *producer) run(ctx context.Context, src eventSource, rate float64) error {
	err := p.feed(ctx, src, rate)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), producerFlushTimeout)
	defer cancel()
	ferr := p.cl.Flush(fctx)
	if e := p.failed.Load(); e != nil {
		return errors.Join(err, *e)
	}
	if err == nil && ferr != nil {
		err = fmt.Errorf("unable to deliver the last records: %w", ferr)
	}
	return err
}

// pacerTick is how often a rate-limited producer wakes up to send the
// records due since the last tick.
const pacerTick = 10 * time.Millisecond

func (p *producer) feed(ctx context.Context, src eventSource, rate float64) error {
	var pace *pacer
	var tick *time.Ticker
	if rate > 0 {
		pace = newPacer(rate, time.Now())
		tick = time.NewTicker(pacerTick)
		defer tick.Stop()
	}
	for {
		n := 256 // unlimited: check ctx and errors every so often
		if pace != nil {
			select {
			case <-ctx.Done():
				return nil
			case now := <-tick.C:
				n = pace.take(now)
			}
		}
		for range n {
			if ctx.Err() != nil || p.failed.Load() != nil {
				return nil
			}
			it, err := src.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := p.produce(ctx, it); err != nil {
				return err
			}
		}
	}
}

// produce encodes it and hands it to the client. It blocks while the
// client's buffer is full.
func (p *producer) produce(ctx context.Context, it item) error {
	r := &kgo.Record{Value: it.raw}
	if it.raw == nil {
		r.Key = []byte(it.ev.Entity)
		var err error
		if p.format == formatJSON {
			r.Value, err = eventJSON(&it.ev)
		} else {
			r.Value, err = p.enc.Event(ctx, p.topic, &it.ev)
		}
		if err != nil {
			return fmt.Errorf("unable to encode event %s: %w", it.ev.ID, err)
		}
	}
	p.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		switch {
		case err == nil:
			p.acked.Add(1)
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			// Interrupted before it was sent: not a failure.
		default:
			p.errOnce.Do(func() {
				err = fmt.Errorf("unable to produce to %s: %w", p.topic, err)
				p.failed.Store(&err)
			})
		}
	})
	return nil
}

// pacer is a token bucket: it allows rate sends per second on average and
// at most burst at once, so that a late tick is made up for but a long
// stall (a full producer buffer) does not turn into a flood.
type pacer struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// newPacer returns a pacer with an empty bucket at now. Its burst is a
// tenth of a second of sends, and at least one.
func newPacer(rate float64, now time.Time) *pacer {
	return &pacer{rate: rate, burst: max(1, rate/10), last: now}
}

// take returns how many sends are due at now and counts them as made.
// Times before the last call add nothing.
func (p *pacer) take(now time.Time) int {
	if dt := now.Sub(p.last); dt > 0 {
		p.tokens = min(p.burst, p.tokens+p.rate*dt.Seconds())
		p.last = now
	}
	n := math.Floor(p.tokens)
	p.tokens -= n
	return int(n)
}

// eventJSON returns ev as a JSON object in the shape the worker's default
// mapping reads.
func eventJSON(ev *record.Event) ([]byte, error) {
	v := struct {
		ID         string             `json:"id"`
		EventTime  string             `json:"event_time"`
		Source     string             `json:"source"`
		Entity     string             `json:"entity"`
		Text       *string            `json:"text,omitempty"`
		Metrics    map[string]float64 `json:"metrics,omitempty"`
		Attributes map[string]string  `json:"attributes,omitempty"`
	}{
		ID:        ev.ID,
		EventTime: ev.Time.UTC().Format(eventTimeLayout),
		Source:    ev.Source,
		Entity:    ev.Entity,
		Text:      ev.Text,
	}
	if len(ev.Metrics) > 0 {
		v.Metrics = make(map[string]float64, len(ev.Metrics))
		for _, m := range ev.Metrics {
			v.Metrics[m.Name] = m.Value
		}
	}
	if len(ev.Attributes) > 0 {
		v.Attributes = make(map[string]string, len(ev.Attributes))
		for _, a := range ev.Attributes {
			v.Attributes[a.Key] = a.Value
		}
	}
	return json.Marshal(v)
}

// genSource yields the generator's events, n of them or without end, with
// a poison record in place of every poisonEvery-th.
type genSource struct {
	g           *gen.Generator
	n, limit    int64
	poisonEvery int64
}

func newGenSource(o produceOpts) *genSource {
	step := time.Millisecond
	if o.rate > 0 {
		step = max(time.Millisecond, time.Duration(float64(time.Second)/o.rate))
	}
	return &genSource{
		g:           gen.New(o.seed, time.Now(), step),
		limit:       o.generate,
		poisonEvery: int64(o.poisonEvery),
	}
}

func (s *genSource) next() (item, error) {
	if s.limit > 0 && s.n >= s.limit {
		return item{}, io.EOF
	}
	s.n++
	if s.poisonEvery > 0 && s.n%s.poisonEvery == 0 {
		v := gen.Poison(int(s.n / s.poisonEvery))
		if v == nil {
			v = []byte{} // an empty value, not a null one
		}
		return item{raw: v}, nil
	}
	ev, _ := s.g.Next()
	return item{ev: ev}, nil
}

// checkFile reads the event file at path to the end and returns how many
// events it holds, or the first bad row.
func checkFile(path string) (int, error) {
	src, closeFile, err := openEventFile(path)
	if err != nil {
		return 0, err
	}
	defer closeFile()
	n := 0
	for {
		_, err := src.next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// openEventFile opens the JSON-lines or CSV file at path ("-": JSON lines
// on standard input), telling the two apart by the extension.
func openEventFile(path string) (eventSource, func(), error) {
	var r io.Reader = os.Stdin
	closeFile := func() {}
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("unable to open event file: %w", err)
		}
		r, closeFile, name = f, func() { f.Close() }, filepath.Base(path)
	}
	dec, _ := codec.NewDecoder(codec.DecoderOptions{}) // the default mapping always compiles
	rows := rowReader{dec: dec, path: path, name: name}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		cr := csv.NewReader(bufio.NewReader(r))
		cr.ReuseRecord = true
		return &csvSource{rows: rows, r: cr}, closeFile, nil
	case ".jsonl", ".ndjson", ".json", "":
		return &jsonlSource{rows: rows, r: bufio.NewReader(r)}, closeFile, nil
	}
	closeFile()
	return nil, nil, fmt.Errorf("%s: unknown file type %q; want .jsonl, .ndjson, .json or .csv",
		path, filepath.Ext(path))
}

// rowReader turns one JSON object of a file into an Event with the worker's
// own decoder, so that a file is read exactly as the worker reads a record.
type rowReader struct {
	dec  *codec.Decoder
	path string // for errors
	name string // base name: the default source
}

func (r *rowReader) event(obj []byte, line int) (record.Event, error) {
	ev, err := r.dec.Decode(context.Background(), obj, codec.Meta{
		Topic:     r.name,
		Offset:    int64(line),
		Timestamp: time.Now(),
	})
	if err != nil {
		return ev, fmt.Errorf("%s:%d: %w", r.path, line, err)
	}
	return ev, nil
}

// jsonlSource reads one JSON object per line; blank lines are skipped.
type jsonlSource struct {
	rows rowReader
	r    *bufio.Reader
	line int
}

func (s *jsonlSource) next() (item, error) {
	for {
		b, err := s.r.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return item{}, io.EOF
			}
			return item{}, fmt.Errorf("unable to read %s: %w", s.rows.path, err)
		}
		s.line++
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		ev, err := s.rows.event(b, s.line)
		return item{ev: ev}, err
	}
}

// csvSource reads rows under a header row that names the Event field of
// each column.
type csvSource struct {
	rows rowReader
	r    *csv.Reader
	cols []csvColumn // nil until the header is read
}

// csvColumn is what one CSV column holds: an Event field (id, event_time,
// source, entity, text), a metric or an attribute.
type csvColumn struct {
	field string // the Event field; "metrics" or "attributes" for those
	name  string // the metric or attribute name
}

func (s *csvSource) next() (item, error) {
	if s.cols == nil {
		if err := s.header(); err != nil {
			return item{}, err
		}
	}
	row, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return item{}, io.EOF
	}
	if err != nil {
		return item{}, fmt.Errorf("%s: %w", s.rows.path, err) // csv errors name the line
	}
	line, _ := s.r.FieldPos(0)

	obj := map[string]any{}
	metrics, attrs := map[string]any{}, map[string]string{}
	for i, cell := range row {
		c := s.cols[i]
		switch {
		case c.field == "metrics":
			if cell == "" {
				continue
			}
			f, err := strconv.ParseFloat(cell, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return item{}, fmt.Errorf("%s:%d: column metric.%s: %q is not a finite number",
					s.rows.path, line, c.name, cell)
			}
			metrics[c.name] = json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		case c.field == "attributes":
			attrs[c.name] = cell
		case cell == "":
			// An empty cell is a missing field.
		case c.field == "event_time" && isDigits(cell):
			obj[c.field] = json.Number(cell) // epoch milliseconds
		default:
			obj[c.field] = cell
		}
	}
	if len(metrics) > 0 {
		obj["metrics"] = metrics
	}
	if len(attrs) > 0 {
		obj["attributes"] = attrs
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return item{}, fmt.Errorf("%s:%d: %w", s.rows.path, line, err)
	}
	ev, err := s.rows.event(b, line)
	return item{ev: ev}, err
}

// header reads the header row and maps each column to a field.
func (s *csvSource) header() error {
	head, err := s.r.Read()
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.rows.path, err)
	}
	seen := map[string]bool{}
	cols := make([]csvColumn, 0, len(head))
	for i, h := range head {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // a byte order mark some editors write
		}
		var c csvColumn
		switch prefix, name, _ := strings.Cut(h, "."); {
		case h == "id", h == "event_time", h == "source", h == "entity", h == "text":
			c.field = h
		case prefix == "metric" && name != "":
			c = csvColumn{"metrics", name}
		case (prefix == "attr" || prefix == "attribute") && name != "":
			c = csvColumn{"attributes", name}
		default:
			return fmt.Errorf("%s:1: column %d %q: want id, event_time, source, entity, text, "+
				"metric.NAME or attr.NAME", s.rows.path, i+1, h)
		}
		key := c.field + "." + c.name
		if seen[key] {
			return fmt.Errorf("%s:1: column %d %q appears twice", s.rows.path, i+1, h)
		}
		seen[key] = true
		cols = append(cols, c)
	}
	if !seen["entity."] {
		return fmt.Errorf("%s:1: no entity column; every event needs one", s.rows.path)
	}
	s.cols = cols
	return nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
