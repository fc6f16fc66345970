package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
)

func TestMain(m *testing.M) { kafkatest.Main(m) }

// loopTopics are the topics of one loop test.
type loopTopics struct {
	in, out, dlq, group string
}

func newLoopTopics(t *testing.T, c *kafkatest.Cluster, partitions int32) loopTopics {
	t.Helper()
	return loopTopics{
		in:    c.Topic(t, "loop-in", partitions, nil),
		out:   c.Topic(t, "loop-out", partitions, nil),
		dlq:   c.Topic(t, "loop-dlq", 1, nil),
		group: c.Group(t, "loop"),
	}
}

// startLoop runs a loop over proc until the test ends, and returns it with
// a function that stops it and returns Run's error.
func startLoop(t *testing.T, c *kafkatest.Cluster, lt loopTopics, proc pipeline.Processor,
	mod func(*pipeline.Config)) (*pipeline.Loop, func() error) {
	t.Helper()
	cfg := pipeline.Config{
		Topics:          []string{lt.in},
		Group:           lt.group,
		WorkerID:        "w-" + lt.group,
		DeadLetterTopic: lt.dlq,
		MaxPollRecords:  100,
		RetryBackoffMin: 5 * time.Millisecond,
		RetryBackoffMax: 50 * time.Millisecond,
		ClientOpts: []kgo.Opt{
			kgo.SeedBrokers(c.Brokers...),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		},
		Metrics: pipeline.NewMetrics(nil),
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := pipeline.New(cfg, proc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(60 * time.Second):
				runErr = errors.New("loop did not stop within 60s of cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return l, stop
}

func produceValues(t *testing.T, c *kafkatest.Cluster, topic string, values ...[]byte) {
	t.Helper()
	rs := make([]*kgo.Record, len(values))
	for i, v := range values {
		rs[i] = &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: v,
			Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-" + strconv.Itoa(i))}}}
	}
	c.Produce(t, rs...)
}

func TestLoopCopiesEveryRecordOnce(t *testing.T) {
	for _, mode := range []struct {
		name        string
		atLeastOnce bool
	}{{"exactly once", false}, {"at least once", true}} {
		t.Run(mode.name, func(t *testing.T) {
			kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
				lt := newLoopTopics(t, c, 3)
				const n = 2000
				vals := make([][]byte, n)
				for i := range vals {
					vals[i] = []byte(fmt.Sprintf("value-%05d", i))
				}
				produceValues(t, c, lt.in, vals...)

				var m *pipeline.Metrics
				_, stop := startLoop(t, c, lt, pipeline.Copy(lt.out), func(cfg *pipeline.Config) {
					cfg.AtLeastOnce = mode.atLeastOnce
					m = cfg.Metrics
				})
				got := c.ReadAll(t, lt.out, n, time.Minute)
				if err := stop(); err != nil {
					t.Fatalf("Run returned %v after cancellation, want nil", err)
				}

				seen := make(map[string]int, n)
				for _, r := range got {
					seen[string(r.Value)]++
				}
				for _, v := range vals {
					if seen[string(v)] != 1 {
						t.Errorf("value %s copied %d times, want 1", v, seen[string(v)])
					}
				}
				if len(got) != n {
					t.Errorf("got %d records in the output, want %d", len(got), n)
				}
				if in := testutil.ToFloat64(m.RecordsIn.WithLabelValues(lt.in)); in < n {
					t.Errorf("records in metric = %v, want at least %d", in, n)
				}
				if out := testutil.ToFloat64(m.RecordsOut.WithLabelValues(lt.out)); out != n {
					t.Errorf("records out metric = %v, want %d", out, n)
				}
			})
		})
	}
}

func TestLoopDeadLettersWhatCanNeverBeProcessed(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 1)
		proc := pipeline.ProcessorFunc(func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
			switch {
			case bytes.HasPrefix(r.Value, []byte("bad")):
				return nil, pipeline.Reject("bad_input", errors.New("value starts with bad"))
			case bytes.HasPrefix(r.Value, []byte("panic")):
				panic("processor bug")
			case bytes.HasPrefix(r.Value, []byte("huge-output")):
				return []*kgo.Record{{Topic: lt.out, Value: make([]byte, 2000)}}, nil
			}
			return []*kgo.Record{{Topic: lt.out, Value: r.Value}}, nil
		})
		produceValues(t, c, lt.in,
			[]byte("ok-0"), []byte("bad-1"), []byte("panic-2"), bytes.Repeat([]byte("x"), 1001),
			[]byte("huge-output-4"), []byte("ok-5"))
		_, stop := startLoop(t, c, lt, proc, func(cfg *pipeline.Config) {
			cfg.MaxRecordBytes = 1000
			cfg.MaxOutputBytes = 1500
		})
		ok := c.ReadAll(t, lt.out, 2, time.Minute)
		dead := c.ReadAll(t, lt.dlq, 4, time.Minute)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if len(ok) != 2 || string(ok[0].Value) != "ok-0" || string(ok[1].Value) != "ok-5" {
			t.Errorf("got %d output records, want ok-0 and ok-5", len(ok))
		}
		wantReasons := map[int64]string{
			1: "bad_input", 2: pipeline.ReasonPanic, 3: pipeline.ReasonTooLarge,
			4: pipeline.ReasonOutputTooLarge,
		}
		if len(dead) != len(wantReasons) {
			t.Fatalf("got %d dead letters, want %d", len(dead), len(wantReasons))
		}
		for _, r := range dead {
			off, _ := pipeline.Header(r, pipeline.HeaderSourceOffset)
			o, err := strconv.ParseInt(off, 10, 64)
			if err != nil {
				t.Fatalf("dead letter source offset header %q: %v", off, err)
			}
			reason, _ := pipeline.Header(r, pipeline.HeaderReason)
			if reason != wantReasons[o] {
				t.Errorf("offset %d: reason %q, want %q", o, reason, wantReasons[o])
			}
			if msg, _ := pipeline.Header(r, pipeline.HeaderError); msg == "" {
				t.Errorf("offset %d: empty error header", o)
			}
			if topic, _ := pipeline.Header(r, pipeline.HeaderSourceTopic); topic != lt.in {
				t.Errorf("offset %d: source topic %q, want %q", o, topic, lt.in)
			}
			if p, _ := pipeline.Header(r, pipeline.HeaderSourcePartition); p != "0" {
				t.Errorf("offset %d: source partition %q, want 0", o, p)
			}
			if ts, _ := pipeline.Header(r, pipeline.HeaderSourceTimestamp); ts == "" {
				t.Errorf("offset %d: no source timestamp header", o)
			}
			if tr, _ := pipeline.Header(r, "trace"); tr != "t-"+off {
				t.Errorf("offset %d: original header trace=%q, want it kept", o, tr)
			}
			if string(r.Key) != off {
				t.Errorf("offset %d: key %q, want the original key %q", o, r.Key, off)
			}
		}
	})
}

func TestLoopRetriesTransientFailures(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 1)
		var (
			mu       sync.Mutex
			failures = 3
		)
		proc := pipeline.ProcessorFunc(func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
			mu.Lock()
			defer mu.Unlock()
			if string(r.Value) == "flaky" && failures > 0 {
				failures--
				return nil, errors.New("registry unreachable")
			}
			return []*kgo.Record{{Topic: lt.out, Value: r.Value}}, nil
		})
		produceValues(t, c, lt.in, []byte("a"), []byte("flaky"), []byte("b"))
		var m *pipeline.Metrics
		_, stop := startLoop(t, c, lt, proc, func(cfg *pipeline.Config) { m = cfg.Metrics })
		got := c.ReadAll(t, lt.out, 3, time.Minute)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, r := range got {
			order = append(order, string(r.Value))
		}
		if fmt.Sprint(order) != "[a flaky b]" {
			t.Errorf("output %v, want [a flaky b] in order", order)
		}
		if n := testutil.ToFloat64(m.Retries); n != 3 {
			t.Errorf("retries metric = %v, want 3", n)
		}
		if n := testutil.CollectAndCount(m.DeadLettered); n != 0 {
			t.Errorf("%d dead-letter series, want none: transient failures are retried", n)
		}
	})
}

func TestLoopReadyAndShutdown(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 2)
		l, stop := startLoop(t, c, lt, pipeline.Copy(lt.out), nil)
		deadline := time.Now().Add(30 * time.Second)
		for l.Ready() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("not ready after 30s: %v", l.Ready())
			}
			time.Sleep(20 * time.Millisecond)
		}
		produceValues(t, c, lt.in, []byte("x"))
		c.ReadAll(t, lt.out, 1, time.Minute)
		if err := stop(); err != nil {
			t.Fatalf("Run returned %v after cancellation, want nil", err)
		}
		if err := l.Ready(); err == nil {
			t.Error("Ready() = nil after the loop stopped, want an error")
		}
		groups, err := c.Admin(t).DescribeGroups(context.Background(), lt.group)
		if err != nil {
			t.Fatal(err)
		}
		if g := groups[lt.group]; len(g.Members) != 0 {
			t.Errorf("group has %d members after shutdown, want 0 (the loop leaves)",
				len(g.Members))
		}
	})
}
