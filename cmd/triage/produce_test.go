package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/record"
)

// strayWait is how long a read waits for records beyond the expected ones.
const strayWait = 2 * time.Second

// runCLI runs the binary's run with args and returns what it printed on
// stdout and stderr, and its error.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, args, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func ptr(s string) *string { return &s }

func TestProduceWritesFileEventsAsTheWorkerReadsThem(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "events.jsonl")
	writeFile(t, jsonl, `{"id":"a1","event_time":"2025-03-01T10:00:00.250Z","source":"app",`+
		`"entity":"checkout","text":"card declined","metrics":{"latency_ms":120.5},`+
		`"attributes":{"region":"eu-west"}}

{"entity":"ledger","event_time":1740823200000,"metrics":{"error_rate":0.02}}
`)
	csvPath := filepath.Join(dir, "events.csv")
	writeFile(t, csvPath, "id,event_time,entity,text,metric.latency_ms,metric.error_rate,"+
		"attr.region\n"+
		"a1,2025-03-01T10:00:00.250Z,checkout,card declined,120.5,,eu-west\n"+
		"b2,1740823200000,ledger,,,0.02,\n")

	wantJSONL := []record.Event{
		{
			ID: "a1", Time: time.Date(2025, 3, 1, 10, 0, 0, 250e6, time.UTC), Source: "app",
			Entity: "checkout", Text: ptr("card declined"),
			Metrics:    record.Metrics{{Name: "latency_ms", Value: 120.5}},
			Attributes: record.Attributes{{Key: "region", Value: "eu-west"}},
		},
		{
			ID: "events.jsonl-0-3", Time: time.UnixMilli(1740823200000).UTC(),
			Source: "events.jsonl", Entity: "ledger",
			Metrics: record.Metrics{{Name: "error_rate", Value: 0.02}},
		},
	}
	wantCSV := []record.Event{
		{
			ID: "a1", Time: time.Date(2025, 3, 1, 10, 0, 0, 250e6, time.UTC),
			Source: "events.csv", Entity: "checkout", Text: ptr("card declined"),
			Metrics:    record.Metrics{{Name: "latency_ms", Value: 120.5}},
			Attributes: record.Attributes{{Key: "region", Value: "eu-west"}},
		},
		{
			ID: "b2", Time: time.UnixMilli(1740823200000).UTC(), Source: "events.csv",
			Entity:     "ledger",
			Metrics:    record.Metrics{{Name: "error_rate", Value: 0.02}},
			Attributes: record.Attributes{{Key: "region", Value: ""}},
		},
	}

	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		dec, err := codec.NewDecoder(codec.DecoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, file, format string
			firstByte          byte
			want               []record.Event
		}{
			{"JSON lines become Avro single-object records", jsonl, "avro", 0xC3, wantJSONL},
			{"CSV rows become JSON records", csvPath, "json", '{', wantCSV},
		} {
			t.Run(tc.name, func(t *testing.T) {
				topic := c.Topic(t, "produce", 2, nil)
				out, _, err := runCLI(t, "produce", "-brokers", strings.Join(c.Brokers, ","),
					"-topic", topic, "-file", tc.file, "-format", tc.format)
				if err != nil {
					t.Fatalf("produce failed: %v", err)
				}
				want := fmt.Sprintf("produced %d records to %s", len(tc.want), topic)
				if !strings.Contains(out, want) {
					t.Errorf("got output %q, want it to contain %q", out, want)
				}
				rs := c.ReadAll(t, topic, len(tc.want)+1, strayWait)
				if len(rs) != len(tc.want) {
					t.Fatalf("got %d records, want %d", len(rs), len(tc.want))
				}
				got := map[string]record.Event{}
				for _, r := range rs {
					if r.Value[0] != tc.firstByte {
						t.Errorf("got a value starting with %#x, want %#x", r.Value[0], tc.firstByte)
					}
					ev, err := dec.Decode(context.Background(), r.Value, codec.Meta{})
					if err != nil {
						t.Fatalf("unable to decode %q: %v", r.Value, err)
					}
					if string(r.Key) != ev.Entity {
						t.Errorf("got key %q for entity %q, want the entity", r.Key, ev.Entity)
					}
					got[ev.Entity] = ev
				}
				for _, want := range tc.want {
					if g := got[want.Entity]; !reflect.DeepEqual(g, want) {
						t.Errorf("got event\n%+v\nwant\n%+v", g, want)
					}
				}
			})
		}
	})
}

func TestProduceRefusesABadRowAndProducesNothing(t *testing.T) {
	dir := t.TempDir()
	good := `{"entity":"a","metrics":{"x":1}}` + "\n"
	for _, tc := range []struct {
		name, file, data, want string
	}{
		{"a JSON line without entity is named by its line", "e.jsonl",
			good + good + `{"id":"x","metrics":{"x":1}}` + "\n", `e.jsonl:3: `},
		{"a line that is not JSON is named by its line", "e.jsonl",
			good + "entity=a\n", `e.jsonl:2: `},
		{"a CSV metric that is not a number is named by its line and column", "e.csv",
			"entity,metric.latency_ms\na,1\nb,fast\n", `e.csv:3: column metric.latency_ms: "fast"`},
		{"a CSV column that maps to no field is named", "e.csv",
			"entity,colour\na,red\n", `column 2 "colour"`},
		{"a CSV row with a missing cell is named by its line", "e.csv",
			"entity,text\na,hello\nb\n", `line 3`},
		{"a CSV file without an entity column is refused", "e.csv",
			"id,text\n1,hello\n", `no entity column`},
		{"a CSV row with an empty entity is named by its line", "e.csv",
			"entity,text\na,x\n,y\n", `e.csv:3: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			writeFile(t, path, tc.data)
			kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
				topic := c.Topic(t, "produce-bad", 1, nil)
				_, _, err := runCLI(t, "produce", "-brokers", strings.Join(c.Brokers, ","),
					"-topic", topic, "-file", path)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got error %v, want one containing %q", err, tc.want)
				}
				if rs := c.ReadAll(t, topic, 1, time.Second); len(rs) != 0 {
					t.Errorf("got %d records produced from a bad file, want 0", len(rs))
				}
			})
		})
	}
}

func TestProduceGeneratesAtARateWithPoison(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "produce-gen", 3, nil)
		out, _, err := runCLI(t, "produce", "-brokers", strings.Join(c.Brokers, ","),
			"-topic", topic, "-generate", "60", "-rate", "2000", "-poison-every", "10")
		if err != nil {
			t.Fatalf("produce failed: %v\n%s", err, out)
		}
		rs := c.ReadAll(t, topic, 61, strayWait)
		if len(rs) != 60 {
			t.Fatalf("got %d records, want 60", len(rs))
		}
		dec, _ := codec.NewDecoder(codec.DecoderOptions{})
		bad := 0
		for _, r := range rs {
			ev, err := dec.Decode(context.Background(), r.Value, codec.Meta{Topic: topic})
			if err != nil {
				bad++
				continue
			}
			if string(r.Key) != ev.Entity {
				t.Errorf("got key %q for entity %q, want the entity", r.Key, ev.Entity)
			}
		}
		if bad != 6 {
			t.Errorf("got %d undecodable records, want 6 (every 10th of 60)", bad)
		}
	})
}

func TestProduceRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"neither a file nor the generator", []string{"produce"}},
		{"both a file and the generator", []string{"produce", "-file", "x.jsonl", "-generate", "1"}},
		{"an unknown format", []string{"produce", "-generate", "1", "-format", "xml"}},
		{"a negative rate", []string{"produce", "-generate", "1", "-rate", "-5"}},
		{"poison with a file", []string{"produce", "-file", "x.jsonl", "-poison-every", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCLI(t, tc.args...)
			if !errors.Is(err, errUsage) {
				t.Errorf("got error %v, want errUsage", err)
			}
			if !strings.Contains(stderr, "usage: triage produce") {
				t.Errorf("got stderr %q, want the usage", stderr)
			}
		})
	}
}

func TestPacerKeepsTheRateAndBoundsBursts(t *testing.T) {
	start := time.Unix(1000, 0)
	p := newPacer(500, start)
	sent := 0
	now := start
	for range 100 { // one second in ticks of 10ms, some late
		now = now.Add(10 * time.Millisecond)
		sent += p.take(now)
	}
	if sent < 499 || sent > 500 {
		t.Errorf("got %d sends in one second at 500/s, want 500 (499 for rounding)", sent)
	}

	// A stall of five seconds allows one burst, not five seconds of sends.
	now = now.Add(5 * time.Second)
	if got := p.take(now); got != 50 {
		t.Errorf("got %d sends after a 5s stall, want the burst of 50", got)
	}
	if got := p.take(now); got != 0 {
		t.Errorf("got %d sends at the same instant again, want 0", got)
	}

	slow := newPacer(0.5, start)
	total := 0
	for i := 1; i <= 400; i++ { // four seconds
		total += slow.take(start.Add(time.Duration(i) * 10 * time.Millisecond))
	}
	if total != 2 {
		t.Errorf("got %d sends in 4s at 0.5/s, want 2", total)
	}
}

func TestEventJSONIsReadBackUnchanged(t *testing.T) {
	ev := record.Event{
		ID: "x", Time: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC), Source: "s", Entity: "e",
		Text:       ptr(`quote " and emoji 🙂`),
		Metrics:    record.Metrics{{Name: "a", Value: 1.5}, {Name: "b", Value: -2}},
		Attributes: record.Attributes{{Key: "k", Value: "v"}},
	}
	b, err := eventJSON(&ev)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("got invalid JSON %s", b)
	}
	dec, _ := codec.NewDecoder(codec.DecoderOptions{})
	got, err := dec.Decode(context.Background(), b, codec.Meta{})
	if err != nil {
		t.Fatalf("unable to decode %s: %v", b, err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Errorf("got %+v, want %+v", got, ev)
	}
}

// BenchmarkProduceGenerated measures produce -generate without a rate limit:
// generate, encode in Avro single-object encoding and produce b.N events
// to a topic of 4 partitions, acknowledged.
func BenchmarkProduceGenerated(b *testing.B) {
	kafkatest.Bench(b, func(b *testing.B, c *kafkatest.Cluster) {
		topic := c.Topic(b, "bench-produce", 4, nil)
		args := []string{"produce", "-brokers", strings.Join(c.Brokers, ","), "-topic", topic,
			"-generate", fmt.Sprint(b.N)}
		var out bytes.Buffer
		b.ResetTimer()
		if err := run(context.Background(), args, &out, &out); err != nil {
			b.Fatalf("produce failed: %v\n%s", err, out.String())
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
