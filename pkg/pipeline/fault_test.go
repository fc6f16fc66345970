package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
)

// TestLoopRidesOutBrokerFailures cuts the connection on some produce,
// transactional offset commit and end-transaction requests while the loop
// copies records, and checks that every record still arrives exactly once
// and nothing is dead-lettered: a broker that fails for a while delays
// records, it never loses them or turns them into dead letters.
func TestLoopRidesOutBrokerFailures(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		if c.Fake == nil {
			t.Log("skipped on a real broker: the faults are injected with kfake's controls")
			return
		}
		lt := newLoopTopics(t, c, 2)
		const n = 3000
		vals := make([][]byte, n)
		for i := range vals {
			vals[i] = []byte(fmt.Sprintf("value-%05d", i))
		}
		produceValues(t, c, lt.in, vals...)

		// Cut every seventh request of each kind, up to a budget.
		var cut atomic.Int64
		for _, key := range []int16{kmsg.Produce.Int16(), kmsg.TxnOffsetCommit.Int16(),
			kmsg.EndTxn.Int16()} {
			var seen atomic.Int64
			c.Fake.ControlKey(key, func(kmsg.Request) (kmsg.Response, error, bool) {
				c.Fake.KeepControl()
				if seen.Add(1)%7 != 0 || cut.Load() >= 12 {
					return nil, nil, false
				}
				cut.Add(1)
				return nil, errors.New("connection cut by the test"), true
			})
		}

		var m *pipeline.Metrics
		_, stop := startLoop(t, c, lt, pipeline.Copy(lt.out), func(cfg *pipeline.Config) {
			m = cfg.Metrics
		})
		c.ReadAll(t, lt.out, n, time.Minute)
		got := c.ReadAll(t, lt.out, n+1, 2*time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		seen := make(map[string]int, n)
		for _, r := range got {
			seen[string(r.Value)]++
		}
		for _, v := range vals {
			if seen[string(v)] != 1 {
				t.Errorf("%s arrived %d times, want once", v, seen[string(v)])
			}
		}
		if len(got) != n {
			t.Errorf("got %d records, want %d", len(got), n)
		}
		if dead := c.ReadAll(t, lt.dlq, 1, time.Second); len(dead) != 0 {
			t.Errorf("got %d dead letters, want none", len(dead))
		}
		if cut.Load() == 0 {
			t.Fatal("no request was cut: the test injected no fault")
		}
		t.Logf("%d requests cut; %v batches committed, %v aborted, %v sessions", cut.Load(),
			testutil.ToFloat64(m.Batches.WithLabelValues("commit")),
			testutil.ToFloat64(m.Batches.WithLabelValues("abort")),
			testutil.ToFloat64(m.Sessions))
	})
}

// TestLoopWaitsForAMissingOutputTopic writes to an output topic that does
// not exist yet. The client fails such records only after several metadata
// tries, from a goroutine of its own, so a loop that decides to commit
// before every promise has run commits the consumed offsets of records it
// never wrote. The loop must instead abort, back off, say why it is not
// ready and dead-letter nothing, then deliver every record once the topic
// exists.
func TestLoopWaitsForAMissingOutputTopic(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 1)
		missing := "missing-" + lt.group
		produceValues(t, c, lt.in, []byte("a"), []byte("b"), []byte("c"))

		var m *pipeline.Metrics
		l, stop := startLoop(t, c, lt, pipeline.Copy(missing), func(cfg *pipeline.Config) {
			m = cfg.Metrics
		})
		deadline := time.Now().Add(time.Minute)
		for testutil.ToFloat64(m.Retries) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("no retry within a minute of writing to a missing topic")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := l.Ready(); err == nil {
			t.Error("Ready() = nil while every batch fails, want the reason")
		}

		adm := c.Admin(t)
		if _, err := adm.CreateTopic(context.Background(), 1, -1, nil, missing); err != nil {
			t.Fatalf("creating %s: %v", missing, err)
		}
		t.Cleanup(func() { _, _ = adm.DeleteTopics(context.Background(), missing) })

		got := c.ReadAll(t, missing, 3, time.Minute)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("got %d records once the topic existed, want 3", len(got))
		}
		if dead := c.ReadAll(t, lt.dlq, 1, time.Second); len(dead) != 0 {
			t.Errorf("got %d dead letters, want none", len(dead))
		}
	})
}
