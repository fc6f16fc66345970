package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/gen"
	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/worker"
)

// BenchmarkWorkerVsCopy measures, on the same broker and the same input of
// b.N generated events (Avro single-object encoding, 4 partitions), the
// records per second of the worker with its pass-through tagger and of a
// plain copy (consume, produce the same bytes) through the same loop and
// delivery mode, exactly once, with default settings. It reports both and
// their ratio.
func BenchmarkWorkerVsCopy(b *testing.B) {
	kafkatest.Bench(b, func(b *testing.B, c *kafkatest.Cluster) {
		n := b.N
		in := c.Topic(b, "bench-in", 4, nil)
		produceEvents(b, c, in, n)

		// A first, untimed copy warms the broker (a JVM's compiler, the
		// page cache) so that neither timed run pays for it.
		warm, warmMetrics, warmOut := copyLoop(b, c, in, "bench-warm")
		timeLoop(b, n, warm.Run, warmMetrics, warmOut)

		b.ResetTimer()
		l, copyMetrics, copyOut := copyLoop(b, c, in, "bench-copy")
		copyRate := timeLoop(b, n, l.Run, copyMetrics, copyOut)

		cfg := config.Default()
		cfg.WorkerID = "bench-worker"
		cfg.Kafka.Brokers = c.Brokers
		cfg.Input.Topics = []string{in}
		cfg.Input.Group = c.Group(b, "bench-worker")
		cfg.Output.EnrichedTopic = c.Topic(b, "bench-enriched", 4, nil)
		cfg.Output.EscalationTopic = c.Topic(b, "bench-escalations", 4, nil)
		cfg.Output.DeadLetterTopic = c.Topic(b, "bench-dlq", 1, nil)
		cfg.HTTP.Listen = ""
		cfg.Anomaly.Enabled = false // pass-through: the loop and the codecs alone
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		w, err := worker.New(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		workerRate := timeLoop(b, n, w.Run, w.Metrics, cfg.Output.EnrichedTopic)
		b.StopTimer()

		b.ReportMetric(copyRate, "copy-rec/s")
		b.ReportMetric(workerRate, "worker-rec/s")
		b.ReportMetric(workerRate/copyRate, "ratio")
	})
}

// copyLoop returns a loop that copies in to a new topic, named after name,
// with its metrics and the output topic.
func copyLoop(b *testing.B, c *kafkatest.Cluster, in, name string,
) (*pipeline.Loop, *pipeline.Metrics, string) {
	b.Helper()
	out := c.Topic(b, name, 4, nil)
	m := pipeline.NewMetrics(nil)
	l, err := pipeline.New(pipeline.Config{
		Topics:          []string{in},
		Group:           c.Group(b, name),
		WorkerID:        name,
		DeadLetterTopic: c.Topic(b, name+"-dlq", 1, nil),
		ClientOpts: []kgo.Opt{
			kgo.SeedBrokers(c.Brokers...),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		},
		Metrics: m,
	}, pipeline.Copy(out))
	if err != nil {
		b.Fatal(err)
	}
	return l, m, out
}

// timeLoop runs a loop until its metrics m count n records produced to
// out, and returns the records per second from start to that point.
func timeLoop(b *testing.B, n int, run func(context.Context) error, m *pipeline.Metrics,
	out string) float64 {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- run(ctx) }()
	deadline := start.Add(10 * time.Minute)
	for testutil.ToFloat64(m.RecordsOut.WithLabelValues(out)) < float64(n) {
		select {
		case err := <-done:
			cancel()
			b.Fatalf("loop stopped before %d records: %v", n, err)
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			b.Fatalf("loop did not produce %d records in 10 minutes", n)
		}
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return float64(n) / elapsed.Seconds()
}

func produceEvents(b *testing.B, c *kafkatest.Cluster, topic string, n int) {
	b.Helper()
	enc, err := codec.NewEncoder(codec.EncoderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	g := gen.New(3, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Millisecond)
	const chunk = 5000
	for done := 0; done < n; {
		rs := make([]*kgo.Record, 0, chunk)
		for ; done < n && len(rs) < chunk; done++ {
			ev, _ := g.Next()
			v, err := enc.Event(context.Background(), topic, &ev)
			if err != nil {
				b.Fatal(err)
			}
			rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(ev.Entity), Value: v})
		}
		c.Produce(b, rs...)
	}
}
