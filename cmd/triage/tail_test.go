package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
)

// tailRecords returns one record of each kind tail decodes, for topic:
// an enriched event, an escalation, an explanation, a JSON value, a dead
// letter of binary bytes, and a value no decoder reads.
func tailRecords(t testing.TB, topic string) []*kgo.Record {
	t.Helper()
	enc, _ := codec.NewEncoder(codec.EncoderOptions{})
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	text := "card declined, twice"
	ev := record.Event{
		ID: "ev-1", Time: at, Source: "app", Entity: "checkout", Text: &text,
		Metrics:    record.Metrics{{Name: "latency_ms", Value: 812.5}},
		Attributes: record.Attributes{{Key: "region", Value: "eu-west"}},
	}
	enriched := record.Enriched{
		Event:          ev,
		Classification: &record.Classification{Label: "payment_failed", Confidence: 0.93},
		Anomaly: &record.Anomaly{Score: 0.8, Flagged: true, Metrics: []record.MetricAnomaly{{
			Metric: "latency_ms", Value: 812.5, Expected: 120, Lower: 80, Upper: 160,
			Direction: record.DirectionUp, Contribution: 0.8,
		}}},
		Escalate:   true,
		Reasons:    []string{"anomaly latency_ms"},
		Provenance: record.Provenance{Topic: "events", Partition: 1, Offset: 42, WorkerID: "w1"},
	}
	escalation := record.Escalation{Enriched: enriched, Recent: []record.Event{ev}}
	explanation := record.Explanation{
		IncidentID: "inc-7", Entities: []string{"checkout"}, Start: at, End: at.Add(time.Minute),
		Summary: "latency of checkout rose", Source: record.SourceHeuristic, Confidence: 0.5,
	}
	var vals [][]byte
	for _, f := range []func() ([]byte, error){
		func() ([]byte, error) { return enc.Enriched(ctx, topic, &enriched) },
		func() ([]byte, error) { return enc.Escalation(ctx, topic, &escalation) },
		func() ([]byte, error) { return enc.Explanation(ctx, topic, &explanation) },
	} {
		v, err := f()
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	return []*kgo.Record{
		{Topic: topic, Key: []byte("enriched"), Value: vals[0]},
		{Topic: topic, Key: []byte("escalation"), Value: vals[1]},
		{Topic: topic, Key: []byte("inc-7"), Value: vals[2]},
		{Topic: topic, Key: []byte("json"), Value: []byte(`{"entity":"ledger","n":1.5}`)},
		{Topic: topic, Key: []byte("dead"), Value: []byte{0xC3, 0x01, 1, 2, 3},
			Headers: []kgo.RecordHeader{
				{Key: "trace", Value: []byte("abc")},
				{Key: pipeline.HeaderError, Value: []byte("truncated")},
				{Key: pipeline.HeaderReason, Value: []byte("truncated_avro")},
				{Key: pipeline.HeaderSourceTopic, Value: []byte("events")},
				{Key: pipeline.HeaderSourceOffset, Value: []byte("17")},
			}},
		{Topic: topic, Key: []byte("junk"), Value: []byte("not a record")},
	}
}

// produceInTransactions writes rs in one committed transaction, then one
// aborted record, then an empty committed transaction, so that the topic
// ends in transaction markers and holds a record no reader may see.
func produceInTransactions(t *testing.T, c *kafkatest.Cluster, topic string, rs []*kgo.Record) {
	t.Helper()
	cl := c.Client(t, kgo.TransactionalID(c.TransactionalID(t, "tail")),
		kgo.DefaultProduceTopic(topic))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	txn := func(commit kgo.TransactionEndTry, rs ...*kgo.Record) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for _, res := range cl.ProduceSync(ctx, rs...) {
			if res.Err != nil {
				t.Fatal(res.Err)
			}
		}
		if err := cl.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
	txn(kgo.TryCommit, rs...)
	txn(kgo.TryAbort, &kgo.Record{Topic: topic, Key: []byte("aborted"), Value: []byte("{}")})
	txn(kgo.TryCommit, &kgo.Record{Topic: topic, Key: []byte("last"), Value: []byte(`{"a":1}`)})
}

func TestTailDecodesEveryKindOfRecordAndStopsAtTheEnd(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "tail", 2, nil)
		produceInTransactions(t, c, topic, tailRecords(t, topic))
		brokers := strings.Join(c.Brokers, ",")

		t.Run("JSON lines carry the decoded values", func(t *testing.T) {
			out, stderr, err := runCLI(t, "tail", "-brokers", brokers, "-json", topic)
			if err != nil {
				t.Fatalf("tail failed: %v\n%s", err, stderr)
			}
			if stderr != "" {
				t.Errorf("got stderr %q, want nothing (every partition reached its end)", stderr)
			}
			byKey := map[string]map[string]any{}
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("got a line that is not JSON: %q: %v", line, err)
				}
				byKey[m["key"].(string)] = m
			}
			if len(byKey) != 7 {
				t.Fatalf("got %d records, want the 7 committed ones:\n%s", len(byKey), out)
			}
			if _, ok := byKey["aborted"]; ok {
				t.Errorf("got the aborted record, want only committed ones")
			}
			for key, want := range map[string]string{
				"enriched": "triage.EnrichedEvent", "escalation": "triage.Escalation",
				"inc-7": "triage.Explanation", "json": "json",
			} {
				if byKey[key]["schema"] != want {
					t.Errorf("got schema %v for %s, want %s", byKey[key]["schema"], key, want)
				}
			}
			enriched := byKey["enriched"]["value"].(map[string]any)
			event := enriched["event"].(map[string]any)
			if event["entity"] != "checkout" || event["text"] != "card declined, twice" {
				t.Errorf("got event %v, want entity checkout and the text unwrapped", event)
			}
			inc := byKey["inc-7"]["value"].(map[string]any)
			if inc["start"] != "2025-03-01T10:00:00.000Z" || inc["source"] != "heuristic" {
				t.Errorf("got explanation start %v source %v, want 2025-03-01T10:00:00.000Z "+
					"and heuristic", inc["start"], inc["source"])
			}
			dead := byKey["dead"]
			dl, _ := dead["dead_letter"].(map[string]any)
			if dl["reason"] != "truncated_avro" || dl["source_offset"] != "17" {
				t.Errorf("got dead letter %v, want reason truncated_avro and source offset 17", dl)
			}
			if want := hex.EncodeToString([]byte{0xC3, 0x01, 1, 2, 3}); dead["value_hex"] != want {
				t.Errorf("got value_hex %v, want %s", dead["value_hex"], want)
			}
			if h, _ := dead["headers"].(map[string]any); h["trace"] != "abc" || len(h) != 1 {
				t.Errorf("got headers %v, want only the record's own trace=abc", h)
			}
			junk := byKey["junk"]
			if junk["decode_error"] == nil || junk["value"] != "not a record" {
				t.Errorf("got %v, want a decode error and the value as text", junk)
			}
		})

		t.Run("text blocks show nested values", func(t *testing.T) {
			out, _, err := runCLI(t, "tail", "-brokers", brokers, topic)
			if err != nil {
				t.Fatalf("tail failed: %v", err)
			}
			for _, want := range []string{
				"triage.EnrichedEvent", "triage.Escalation", "key=enriched",
				"text: card declined, twice",
				"classification: {label: payment_failed, confidence: 0.93, model_version: \"\"}",
				"reasons: [anomaly latency_ms]", "dead letter", "reason: truncated_avro",
				"value_hex: c30101020", "decode_error:",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("got output without %q:\n%s", want, out)
				}
			}
			if blocks := strings.Count(out, "\n\n"); blocks != 7 {
				t.Errorf("got %d blocks, want 7:\n%s", blocks, out)
			}
		})

		t.Run("max and from bound what is printed", func(t *testing.T) {
			out, _, err := runCLI(t, "tail", "-brokers", brokers, topic, "-json", "-max", "2")
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out, "\n"); n != 2 {
				t.Errorf("got %d records with -max 2, want 2", n)
			}
			out, _, err = runCLI(t, "tail", "-brokers", brokers, "-json", "-from", "latest", topic)
			if err != nil || out != "" {
				t.Errorf("got %q, %v from latest without -follow, want nothing", out, err)
			}
		})

		t.Run("from -N shows the last N records past markers and aborted ones", func(t *testing.T) {
			one := c.Topic(t, "tail-last", 1, nil)
			produceInTransactions(t, c, one, tailRecords(t, one))
			// The partition ends: junk, a commit marker, the aborted record,
			// its marker, last, a commit marker.
			out, _, err := runCLI(t, "tail", "-brokers", brokers, "-json", "-from", "-2", one)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("got a line that is not JSON: %q", line)
				}
				keys = append(keys, m["key"].(string))
			}
			if strings.Join(keys, ",") != "junk,last" {
				t.Errorf("got keys %v from -2, want [junk last]", keys)
			}
		})
	})
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTailFollowsNewRecordsUntilInterrupted(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "tail-follow", 1, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, stderr syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"tail", "-brokers", strings.Join(c.Brokers, ","),
				"-follow", "-json", topic}, &out, &stderr)
		}()

		c.Produce(t, &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte(`{"x":"first"}`)})
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), "first") {
			if time.Now().After(deadline) {
				t.Fatalf("got no followed record within 30s; output %q, stderr %q",
					out.String(), stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("got error %v after interrupting, want nil", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("tail -follow did not return within 30s of being interrupted")
		}
	})
}

func TestTailRefusesBadInput(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		_, _, err := runCLI(t, "tail", "-brokers", strings.Join(c.Brokers, ","),
			c.Group(t, "no-such-topic"))
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("got error %v for a missing topic, want one saying it does not exist", err)
		}
	})
	for _, args := range [][]string{
		{"tail"}, {"tail", "-from", "5", "t"}, {"tail", "-from", "first", "t"},
		{"tail", "-max", "-1", "t"},
	} {
		if _, _, err := runCLI(t, args...); err != errUsage {
			t.Errorf("got error %v for %q, want errUsage", err, args)
		}
	}
}

func TestBuiltinSchemasParseForPrinting(t *testing.T) {
	for name, typ := range builtinTypes {
		if typ.kind != "record" || typ.name != name || len(typ.fields) == 0 {
			t.Errorf("got %s parsed as kind %q name %q with %d fields, want a record of its "+
				"name with fields", name, typ.kind, typ.name, len(typ.fields))
		}
	}
	if len(builtinTypes) != 4 {
		t.Errorf("got %d built-in schemas, want 4", len(builtinTypes))
	}
}

// TestProduceAndTailThroughASchemaRegistry writes generated events in the
// Confluent wire format, as the compose file's generator does, and reads
// them back with tail through the same registry.
func TestProduceAndTailThroughASchemaRegistry(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		reg := srfake.New()
		t.Cleanup(reg.Close)
		topic := c.Topic(t, "tail-registry", 1, nil)
		brokers := strings.Join(c.Brokers, ",")
		if _, _, err := runCLI(t, "produce", "-brokers", brokers, "-registry", reg.URL(),
			"-topic", topic, "-generate", "5"); err != nil {
			t.Fatalf("produce failed: %v", err)
		}
		rs := c.ReadAll(t, topic, 5, strayWait)
		if len(rs) != 5 || rs[0].Value[0] != 0 {
			t.Fatalf("got %d records, the first starting %#x; want 5 in the Confluent wire "+
				"format (0x00)", len(rs), rs[0].Value[0])
		}
		out, _, err := runCLI(t, "tail", "-brokers", brokers, "-registry", reg.URL(), "-json",
			topic)
		if err != nil {
			t.Fatalf("tail failed: %v", err)
		}
		if n := strings.Count(out, `"schema":"triage.Event"`); n != 5 {
			t.Errorf("got %d records decoded as triage.Event, want 5:\n%s", n, out)
		}
		out, _, err = runCLI(t, "tail", "-brokers", brokers, "-json", topic)
		if err != nil || strings.Count(out, "no schema registry is configured") != 5 {
			t.Errorf("got %v and\n%s\nwant 5 records that name the missing registry", err, out)
		}
	})
}

// BenchmarkTailText measures what tail does per record once fetched:
// decode an enriched event and write it as a text block.
func BenchmarkTailText(b *testing.B) {
	r := tailRecords(b, "bench")[0]
	dec, _ := codec.NewDecoder(codec.DecoderOptions{})
	var sink bytes.Buffer
	tl := &tailer{dec: dec, out: bufio.NewWriter(&sink)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tl.print(ctx, r)
		if sink.Len() > 1<<20 {
			sink.Reset()
		}
	}
}
