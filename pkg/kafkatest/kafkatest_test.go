package kafkatest_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/kafkatest"
)

func TestMain(m *testing.M) { kafkatest.Main(m) }

// strayWait is how long a read waits for a record beyond the expected ones.
const strayWait = 2 * time.Second

func TestRunGivesEachClusterItsOwnShape(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		if len(c.Brokers) == 0 {
			t.Fatalf("got no brokers for %s, want at least one", c.Name)
		}
		if got, want := c.Fake != nil, c.Name == "kfake"; got != want {
			t.Errorf("got Fake set %v for cluster %q, want %v", got, c.Name, want)
		}
		if got := t.Name(); got != "TestRunGivesEachClusterItsOwnShape/"+c.Name {
			t.Errorf("got subtest name %q, want it to end in the cluster name %q", got, c.Name)
		}
	})
}

func TestProducedRecordsReadBackExactlyOnce(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "roundtrip", 3, nil)

		var rs []*kgo.Record
		var want []string
		for i := range 30 {
			v := fmt.Sprintf("value-%02d", i)
			want = append(want, v)
			rs = append(rs, &kgo.Record{
				Topic: topic,
				Key:   fmt.Appendf(nil, "key-%d", i%5),
				Value: []byte(v),
			})
		}
		c.Produce(t, rs...)
		for _, r := range rs {
			if r.Offset < 0 || r.Partition < 0 || r.Partition > 2 {
				t.Fatalf("got produced record at partition %d offset %d, "+
					"want a partition in [0, 2] and an offset >= 0", r.Partition, r.Offset)
			}
		}

		got := c.ReadAll(t, topic, len(rs)+1, strayWait)
		if len(got) != len(rs) {
			t.Fatalf("got %d records, want %d", len(got), len(rs))
		}
		var values []string
		keyPartition := make(map[string]int32)
		for _, r := range got {
			values = append(values, string(r.Value))
			if p, ok := keyPartition[string(r.Key)]; ok && p != r.Partition {
				t.Errorf("got key %q in partitions %d and %d, want one partition per key",
					r.Key, p, r.Partition)
			}
			keyPartition[string(r.Key)] = r.Partition
		}
		slices.Sort(values)
		if !slices.Equal(values, want) {
			t.Errorf("got values %v, want %v", values, want)
		}
	})
}

func TestReadAllReturnsOnlyCommittedTransactions(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "txn", 1, nil)
		tx := c.Client(t,
			kgo.TransactionalID(c.TransactionalID(t, "txn")),
			kgo.DefaultProduceTopic(topic),
		)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		// Committed, aborted, committed, then one left open while reading.
		txn(ctx, t, tx, kgo.TryCommit, "a0", "a1", "a2")
		txn(ctx, t, tx, kgo.TryAbort, "b0", "b1")
		txn(ctx, t, tx, kgo.TryCommit, "c0", "c1")
		if err := tx.BeginTransaction(); err != nil {
			t.Fatalf("unable to begin the open transaction: %v", err)
		}
		if err := tx.ProduceSync(ctx, kgo.StringRecord("open")).FirstErr(); err != nil {
			t.Fatalf("unable to produce in the open transaction: %v", err)
		}

		want := []string{"a0", "a1", "a2", "c0", "c1"}
		got := values(c.ReadAll(t, topic, len(want)+1, strayWait))
		if !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}

		if err := tx.EndTransaction(ctx, kgo.TryAbort); err != nil {
			t.Fatalf("unable to abort the open transaction: %v", err)
		}
	})
}

// txn produces values in one transaction and ends it with commit.
func txn(
	ctx context.Context,
	t *testing.T,
	tx *kgo.Client,
	commit kgo.TransactionEndTry,
	values ...string,
) {
	t.Helper()

	if err := tx.BeginTransaction(); err != nil {
		t.Fatalf("unable to begin transaction: %v", err)
	}
	for _, v := range values {
		if err := tx.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
			t.Fatalf("unable to produce %q in a transaction: %v", v, err)
		}
	}
	if err := tx.EndTransaction(ctx, commit); err != nil {
		t.Fatalf("unable to end transaction (commit %v): %v", commit, err)
	}
}

func values(rs []*kgo.Record) []string {
	var vs []string
	for _, r := range rs {
		vs = append(vs, string(r.Value))
	}
	return vs
}

func TestGroupCommitsAreVisibleToAdmin(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "group", 1, nil)
		group := c.Group(t, "group")
		for i := range 5 {
			c.Produce(t, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "%d", i)})
		}

		cl := c.Client(t,
			kgo.ConsumeTopics(topic),
			kgo.ConsumerGroup(group),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(),
			kgo.SessionTimeout(time.Second),
			kgo.HeartbeatInterval(200*time.Millisecond),
		)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		var n int
		for n < 5 {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("unable to consume after %d records: %v", n, err)
			}
			n += fs.NumRecords()
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			t.Fatalf("unable to commit: %v", err)
		}

		offsets, err := c.Admin(t).FetchOffsets(ctx, group)
		if err != nil {
			t.Fatalf("unable to fetch offsets of group %q: %v", group, err)
		}
		o, ok := offsets.Lookup(topic, 0)
		if !ok {
			t.Fatalf("got no committed offset for %s[0], want one", topic)
		}
		if o.Err != nil || o.At != 5 {
			t.Errorf("got committed offset %d (err %v), want 5", o.At, o.Err)
		}
	})
}

func TestTopicAppliesPartitionsAndConfigs(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		topic := c.Topic(t, "configs", 4, map[string]*string{
			"cleanup.policy": kadm.StringPtr("compact"),
			"retention.ms":   kadm.StringPtr("3600000"),
		})
		adm := c.Admin(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		details, err := adm.ListTopics(ctx, topic)
		if err != nil {
			t.Fatalf("unable to list %q: %v", topic, err)
		}
		if got := len(details[topic].Partitions); got != 4 {
			t.Errorf("got %d partitions, want 4", got)
		}

		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			t.Fatalf("unable to describe the configs of %q: %v", topic, err)
		}
		rc, err := rcs.On(topic, nil)
		if err != nil {
			t.Fatalf("unable to describe the configs of %q: %v", topic, err)
		}
		got := make(map[string]string)
		for _, cfg := range rc.Configs {
			got[cfg.Key] = cfg.MaybeValue()
		}
		for k, want := range map[string]string{
			"cleanup.policy": "compact",
			"retention.ms":   "3600000",
		} {
			if got[k] != want {
				t.Errorf("got %s=%q, want %q", k, got[k], want)
			}
		}
	})
}

func TestTopicIsDeletedWhenTheTestEnds(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		var topic string
		t.Run("creates the topic", func(t *testing.T) {
			topic = c.Topic(t, "cleanup", 1, nil)
		})
		if topic == "" {
			t.Fatal("got no topic from the subtest, want one")
		}

		// Deletion is asynchronous on a real broker: poll until it is gone.
		adm := c.Admin(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			details, err := adm.ListTopics(ctx, topic)
			if err == nil && !details.Has(topic) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("got topic %q still listed after its test ended (err %v), "+
					"want it deleted", topic, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func TestNamesAreUniqueAndLegal(t *testing.T) {
	var c kafkatest.Cluster
	legal := regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	seen := make(map[string]bool)
	for range 100 {
		for _, name := range []string{
			c.Group(t, "orders.v1_in"),
			c.TransactionalID(t, "orders.v1_in"),
		} {
			if seen[name] {
				t.Fatalf("got name %q twice, want every name unique", name)
			}
			seen[name] = true
			if !legal.MatchString(name) {
				t.Errorf("got name %q, want only [a-zA-Z0-9._-]", name)
			}
			if len(name) != len("orders.v1_in-")+12 {
				t.Errorf("got name %q of %d bytes, want the prefix, a dash and 12 hex digits",
					name, len(name))
			}
		}
	}
	if got := c.Group(t, ""); !regexp.MustCompile(`^kafkatest-[0-9a-f]{12}$`).MatchString(got) {
		t.Errorf("got %q for an empty prefix, want kafkatest-<12 hex digits>", got)
	}
}
