package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// maxPrefix keeps prefix plus suffix under Kafka's 249 byte topic name limit.
const maxPrefix = 200

// Topic creates a topic named prefix plus a random suffix, with the given
// number of partitions (-1 for the broker default, which is 1 on every
// cluster Run starts) and topic configs (nil for none), and returns its name.
// The replication factor is the broker default.
//
// Topic returns once every partition has a leader, so the topic can be
// produced to and consumed at once. The topic is deleted when the test and
// its subtests have finished; a failed deletion is logged, not failed, since
// the name is never reused. Topic fails the test if the topic cannot be
// created, which includes an invalid prefix or config.
func (c *Cluster) Topic(
	t testing.TB,
	prefix string,
	partitions int32,
	configs map[string]*string,
) string {
	t.Helper()

	name := unique(t, prefix)
	adm := c.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	resp, err := adm.CreateTopic(ctx, partitions, -1, configs, name)
	if err != nil {
		t.Fatalf("unable to create topic %q with %d partitions on %s: %v",
			name, partitions, c.Name, errWithMessage(err, resp.ErrMessage))
	}
	// Registered after Admin's cleanup, so it runs while adm is still open.
	t.Cleanup(func() { c.deleteTopic(t, adm, name) })

	if err := waitLeaders(ctx, adm, name, resp.NumPartitions); err != nil {
		t.Fatalf("topic %q on %s not usable within %v: %v", name, c.Name, opTimeout, err)
	}
	return name
}

// waitLeaders polls the metadata of topic until it has want partitions (or at
// least one if want is not positive), each with a leader and no load error.
func waitLeaders(ctx context.Context, adm *kadm.Client, topic string, want int32) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()

	for {
		err := topicReady(ctx, adm, topic, want)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

func topicReady(ctx context.Context, adm *kadm.Client, topic string, want int32) error {
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("unable to list topic: %w", err)
	}
	td, ok := details[topic]
	switch {
	case !ok:
		return errors.New("topic missing from metadata")
	case td.Err != nil:
		return fmt.Errorf("topic metadata: %w", td.Err)
	case len(td.Partitions) == 0:
		return errors.New("no partitions in metadata")
	case want > 0 && int32(len(td.Partitions)) != want:
		return fmt.Errorf("got %d partitions in metadata, want %d", len(td.Partitions), want)
	}
	for _, p := range td.Partitions {
		if p.Err != nil {
			return fmt.Errorf("partition %d: %w", p.Partition, p.Err)
		}
		if p.Leader < 0 {
			return fmt.Errorf("partition %d has no leader", p.Partition)
		}
	}
	return nil
}

func (c *Cluster) deleteTopic(t testing.TB, adm *kadm.Client, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	if _, err := adm.DeleteTopic(ctx, topic); err != nil {
		t.Logf("kafkatest: unable to delete topic %q on %s: %v", topic, c.Name, err)
	}
}

// Group returns a consumer group name made of prefix and a random suffix, so
// that tests sharing a broker never join each other's groups. The group is
// not created: Kafka creates it on first join.
func (c *Cluster) Group(t testing.TB, prefix string) string {
	t.Helper()
	return unique(t, prefix)
}

// TransactionalID returns a transactional ID made of prefix and a random
// suffix, so that producers of different tests never fence each other.
func (c *Cluster) TransactionalID(t testing.TB, prefix string) string {
	t.Helper()
	return unique(t, prefix)
}

// unique returns prefix, a dash and 12 random hex digits. It fails the test
// if prefix is not a legal start of a topic name: at most maxPrefix ASCII
// letters, digits, '.', '_' or '-'. An empty prefix becomes "kafkatest".
func unique(t testing.TB, prefix string) string {
	t.Helper()

	if prefix == "" {
		prefix = "kafkatest"
	}
	if len(prefix) > maxPrefix {
		t.Fatalf("name prefix is %d bytes, want at most %d", len(prefix), maxPrefix)
	}
	for _, r := range prefix {
		if !legalNameRune(r) {
			t.Fatalf("name prefix %q contains %q, want only [a-zA-Z0-9._-]", prefix, r)
		}
	}

	var b [6]byte
	rand.Read(b[:]) // never returns an error
	return prefix + "-" + hex.EncodeToString(b[:])
}

func legalNameRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r == '.', r == '_', r == '-':
		return true
	}
	return false
}

// errWithMessage appends the broker's error message to err when there is one.
func errWithMessage(err error, msg string) error {
	if msg == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, msg)
}
