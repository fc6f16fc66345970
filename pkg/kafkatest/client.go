package kafkatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Client returns a client seeded with the cluster's brokers and configured by
// opts, which are applied after the seeds. The client is closed when the test
// and its subtests have finished; closing it earlier is allowed.
func (c *Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()

	all := append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("unable to create a client for %s: %v", c.Name, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client for the cluster, closed like Client's.
func (c *Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t))
}

// Produce writes rs with an idempotent producer and returns once every record
// is acknowledged, with its partition and offset filled in. Each record must
// name its topic. Produce fails the test if any record fails or the writes
// take longer than 30s; like t.Fatal, it must be called from the test
// goroutine.
func (c *Cluster) Produce(t testing.TB, rs ...*kgo.Record) {
	t.Helper()

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Brokers...))
	if err != nil {
		t.Fatalf("unable to create a producer for %s: %v", c.Name, err)
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for _, res := range cl.ProduceSync(ctx, rs...) {
		if res.Err != nil {
			t.Fatalf("unable to produce to %q on %s: %v", res.Record.Topic, c.Name, res.Err)
		}
	}
}

// ReadAll reads topic from the start of every partition with a read_committed
// consumer outside any group, and returns once it has n records or timeout has
// passed, whichever comes first. It returns what it read: never more than n
// records, in the order received, which is offset order within a partition.
//
// Records of aborted or still open transactions are never returned. To check
// that a topic holds exactly n committed records, ask for n+1 with a timeout
// long enough for a stray record to arrive, and compare the length with n.
//
// ReadAll fails the test on any fetch error other than the timeout; like
// t.Fatal, it must be called from the test goroutine.
func (c *Cluster) ReadAll(t testing.TB, topic string, n int, timeout time.Duration) []*kgo.Record {
	t.Helper()

	if n < 0 {
		t.Fatalf("ReadAll of %q asked for %d records, want at least 0", topic, n)
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.Brokers...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
	)
	if err != nil {
		t.Fatalf("unable to create a consumer for %s: %v", c.Name, err)
	}
	defer cl.Close()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	got := make([]*kgo.Record, 0, n)
	for len(got) < n {
		fs := cl.PollRecords(ctx, n-len(got))
		for _, fe := range fs.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) {
				return append(got, fs.Records()...)
			}
			t.Fatalf("unable to read %q partition %d on %s after %d records: %v",
				fe.Topic, fe.Partition, c.Name, len(got), fe.Err)
		}
		got = append(got, fs.Records()...)
	}
	return got
}
