package pipeline

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// StateEntry is one key of a Stateful processor's state, and the input
// partition it belongs to.
type StateEntry struct {
	Topic     string // the input topic
	Partition int32  // and partition whose records made this state
	Key       string
	Value     []byte // nil deletes Key
}

// Stateful is implemented by a Processor whose state must survive restarts
// and rebalances: detectors that took hours to learn an entity, incidents
// still open. The state of each input partition lives in a compacted state
// topic (Config.StateTopic), written in the transaction that commits the
// outputs and offsets it reflects, so state and offsets never disagree.
//
// The loop calls these methods on the goroutine that runs Apply, never
// concurrently with it or with each other.
type Stateful interface {
	Processor
	// Checkpoint returns the entries that changed since the last call.
	// The loop calls it at the end of every batch and writes them in the
	// batch's transaction; a key written several times in a batch should
	// be returned once, with its last value.
	Checkpoint() []StateEntry
	// Restore replaces the state of an input partition with entries, read
	// from the state topic in the order they were written: a later entry
	// for a key replaces an earlier one, and a nil Value deletes the key.
	// The loop calls it when the partition is assigned, before any of its
	// records, and again for every partition it owns after a batch is
	// aborted, since the aborted batch may have changed the state.
	// Restore also forgets the partition's changes not yet checkpointed.
	Restore(topic string, partition int32, entries iter.Seq[StateEntry]) error
	// Revoke drops the state of a partition the loop no longer owns.
	Revoke(topic string, partition int32)
}

// Ticker is implemented by a Processor that also produces records as time
// passes, not only when records arrive: an explainer that waits for a
// burst to end, say. The loop calls Tick on the goroutine that runs Apply,
// between batches and at least every Config.TickInterval, with no
// transaction open, so Tick may take long (a call to a model). The records
// it returns are produced, with the state of a Stateful processor, in a
// transaction of their own. An error is retried after a backoff.
type Ticker interface {
	Tick(ctx context.Context, now time.Time) ([]*kgo.Record, error)
}

// minTickGap is the least time between two ticks that a TickScheduler
// asks for.
const minTickGap = 10 * time.Millisecond

// TickScheduler is implemented by a Ticker that knows when its next Tick
// has work: an incident whose debounce ends. The loop then ticks at that
// time when it comes before Config.TickInterval has passed. NextTick is
// called on the loop's goroutine after each batch and tick; false means no
// work is scheduled.
type TickScheduler interface {
	NextTick(now time.Time) (time.Time, bool)
}

// topicPartition names an input partition.
type topicPartition struct {
	topic     string
	partition int32
}

// stateKey is the record key of an entry in the state topic: the input
// topic and partition come first, so that the entries of one partition
// can be told from those of another sharing its state partition.
func stateKey(e StateEntry) []byte {
	k := make([]byte, 0, len(e.Topic)+len(e.Key)+12)
	k = append(k, e.Topic...)
	k = append(k, 0)
	k = strconv.AppendInt(k, int64(e.Partition), 10)
	k = append(k, 0)
	return append(k, e.Key...)
}

// parseStateKey is the inverse of stateKey.
func parseStateKey(k []byte) (topic string, partition int32, key string, ok bool) {
	s := string(k)
	i := strings.IndexByte(s, 0)
	if i < 0 {
		return "", 0, "", false
	}
	j := strings.IndexByte(s[i+1:], 0)
	if j < 0 {
		return "", 0, "", false
	}
	p, err := strconv.ParseInt(s[i+1:i+1+j], 10, 32)
	if err != nil {
		return "", 0, "", false
	}
	return s[:i], int32(p), s[i+2+j:], true
}

// statePartition is the partition of the state topic, of n partitions,
// that holds the state of input partition p: p itself when the state topic
// has at least as many partitions as the input, which keeps the writers
// of a state partition to one.
func statePartition(p int32, n int) int32 { return p % int32(n) }

// stateTracker follows, from the group's callbacks, which partitions the
// loop owns and which need their state restored or dropped. The callbacks
// only record changes; the loop applies them on its own goroutine before
// each batch, which kgo allows since fetching for a new partition begins
// only after its assignment callback returns.
type stateTracker struct {
	mu      sync.Mutex // guards all below
	owned   map[topicPartition]bool
	restore map[topicPartition]bool // owned, state not yet restored
	revoked []topicPartition        // to drop, in callback order
}

func newStateTracker() *stateTracker {
	return &stateTracker{
		owned:   map[topicPartition]bool{},
		restore: map[topicPartition]bool{},
	}
}

func (t *stateTracker) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range m {
		for _, p := range ps {
			tp := topicPartition{topic, p}
			t.owned[tp] = true
			t.restore[tp] = true
		}
	}
}

func (t *stateTracker) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, ps := range m {
		for _, p := range ps {
			tp := topicPartition{topic, p}
			delete(t.owned, tp)
			delete(t.restore, tp)
			t.revoked = append(t.revoked, tp)
		}
	}
}

// restoreAll marks every owned partition for a restore: after an aborted
// batch, the processor's state may hold changes that were never committed.
func (t *stateTracker) restoreAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for tp := range t.owned {
		t.restore[tp] = true
	}
}

// take returns the partitions to drop and to restore, and forgets them.
func (t *stateTracker) take() (drop, restore []topicPartition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	drop, t.revoked = t.revoked, nil
	for tp := range t.restore {
		restore = append(restore, tp)
	}
	clear(t.restore)
	return drop, restore
}

// putBack marks partitions whose restore failed to be restored again.
func (t *stateTracker) putBack(tps []topicPartition) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range tps {
		if t.owned[tp] {
			t.restore[tp] = true
		}
	}
}

// syncState applies the assignment changes seen since the last batch to a
// Stateful processor: it drops the state of revoked partitions and restores
// that of new ones. It returns an error, to be retried, when the state
// topic cannot be read.
func (l *Loop) syncState(ctx context.Context, st Stateful) error {
	drop, restore := l.state.take()
	for _, tp := range drop {
		st.Revoke(tp.topic, tp.partition)
	}
	for i, tp := range restore {
		start := time.Now()
		n, err := l.restore(ctx, st, tp)
		if err != nil {
			l.state.putBack(restore[i:])
			return fmt.Errorf("unable to restore the state of %s/%d: %w", tp.topic,
				tp.partition, err)
		}
		l.m.StateRestores.Inc()
		l.log.Info("partition state restored", zap.String("topic", tp.topic),
			zap.Int32("partition", tp.partition), zap.Int("entries_read", n),
			zap.Duration("took", time.Since(start)))
	}
	return nil
}

// errStateTopic is returned when the state topic is missing.
var errStateTopic = errors.New("state topic not found")

// restore reads the state partition of tp from its start to its end and
// hands tp's entries to st. The end is taken once every transaction open
// when the restore began has ended: the previous owner of tp may be
// committing its last batch, whose state must be read. It returns the
// number of records read.
func (l *Loop) restore(ctx context.Context, st Stateful, tp topicPartition) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RestoreTimeout)
	defer cancel()
	adm, err := kgo.NewClient(l.cfg.StateClientOpts...)
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	admin := kadm.NewClient(adm)

	ends, err := admin.ListEndOffsets(ctx, l.cfg.StateTopic)
	if err != nil {
		return 0, fmt.Errorf("unable to list end offsets: %w", err)
	}
	parts := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			parts++
		}
	})
	if parts == 0 {
		return 0, fmt.Errorf("%w: %s", errStateTopic, l.cfg.StateTopic)
	}
	sp := statePartition(tp.partition, parts)
	end, ok := ends.Lookup(l.cfg.StateTopic, sp)
	if !ok || end.Err != nil {
		return 0, fmt.Errorf("no end offset for %s/%d", l.cfg.StateTopic, sp)
	}
	stable, err := l.waitStable(ctx, admin, sp, end.Offset)
	if err != nil {
		return 0, err
	}

	var read int
	var readErr error
	entries := func(yield func(StateEntry) bool) {
		read, readErr = l.readState(ctx, sp, stable, tp, yield)
	}
	if err := st.Restore(tp.topic, tp.partition, entries); err != nil {
		return read, fmt.Errorf("processor refused the state: %w", err)
	}
	return read, readErr
}

// waitStable waits until the last stable offset of state partition sp
// reaches end, so no transaction open at the start is still open, and
// returns it.
func (l *Loop) waitStable(ctx context.Context, admin *kadm.Client, sp int32, end int64,
) (int64, error) {
	for {
		lsos, err := admin.ListCommittedOffsets(ctx, l.cfg.StateTopic)
		if err != nil {
			return 0, fmt.Errorf("unable to list stable offsets: %w", err)
		}
		lso, ok := lsos.Lookup(l.cfg.StateTopic, sp)
		if ok && lso.Err == nil && lso.Offset >= end {
			return lso.Offset, nil
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return 0, fmt.Errorf("a transaction on %s/%d stayed open: %w", l.cfg.StateTopic, sp,
				ctx.Err())
		}
	}
}

// readState reads state partition sp up to offset end, read_committed,
// and yields the entries of tp. Control records are kept so that the
// reader sees the marker that ends the last transaction and knows it has
// reached end.
func (l *Loop) readState(ctx context.Context, sp int32, end int64, tp topicPartition,
	yield func(StateEntry) bool) (int, error) {
	if end <= 0 {
		return 0, nil
	}
	opts := append([]kgo.Opt{}, l.cfg.StateClientOpts...)
	opts = append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			l.cfg.StateTopic: {sp: kgo.NewOffset().AtStart()},
		}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	read := 0
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return read, fmt.Errorf("read %d state records, not yet at offset %d: %w", read,
				end, err)
		}
		var fetchErr error
		fs.EachError(func(_ string, _ int32, err error) { fetchErr = err })
		if fetchErr != nil {
			return read, fmt.Errorf("unable to read the state: %w", fetchErr)
		}
		done := false
		stop := false
		fs.EachRecord(func(r *kgo.Record) {
			if done || stop {
				return
			}
			if r.Offset >= end-1 {
				done = true
			}
			if r.Offset >= end || r.Attrs.IsControl() {
				return
			}
			read++
			topic, p, key, ok := parseStateKey(r.Key)
			if !ok || topic != tp.topic || p != tp.partition {
				return
			}
			if !yield(StateEntry{Topic: topic, Partition: p, Key: key, Value: r.Value}) {
				stop = true
			}
		})
		if done || stop {
			return read, nil
		}
	}
}

// stateRecord is the record that writes e to the state topic.
func (l *Loop) stateRecord(e StateEntry) *kgo.Record {
	return &kgo.Record{
		Topic:     l.cfg.StateTopic,
		Partition: statePartition(e.Partition, l.statePartitions),
		Key:       stateKey(e),
		Value:     e.Value,
	}
}

// statePartitioner sends records to the state topic to the partition set
// on them, and every other record where the default partitioner would.
type statePartitioner struct {
	topic string
	def   kgo.Partitioner
}

func (p statePartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	if topic == p.topic {
		return kgo.ManualPartitioner().ForTopic(topic)
	}
	return p.def.ForTopic(topic)
}

// countStatePartitions returns how many partitions the state topic has.
func (l *Loop) countStatePartitions(ctx context.Context) (int, error) {
	cl, err := kgo.NewClient(l.cfg.StateClientOpts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.RestoreTimeout)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, l.cfg.StateTopic)
	if err != nil {
		return 0, fmt.Errorf("unable to describe the state topic: %w", err)
	}
	t, ok := td[l.cfg.StateTopic]
	if !ok || t.Err != nil || len(t.Partitions) == 0 {
		return 0, fmt.Errorf("%w: %s", errStateTopic, l.cfg.StateTopic)
	}
	return len(t.Partitions), nil
}

// startState reads, for a Stateful processor, the state topic's partition
// count at the start of a session.
func (l *Loop) startState(ctx context.Context) error {
	if l.stateful == nil {
		return nil
	}
	n, err := l.countStatePartitions(ctx)
	if err != nil {
		return err
	}
	l.statePartitions = n
	return nil
}

// dropState, at the end of a session, drops the state of every partition
// the session owned: the next session restores what it is assigned.
func (l *Loop) dropState() {
	if l.stateful == nil || l.state == nil {
		return
	}
	l.state.mu.Lock()
	owned := make([]topicPartition, 0, len(l.state.owned))
	for tp := range l.state.owned {
		owned = append(owned, tp)
	}
	l.state.mu.Unlock()
	drop, _ := l.state.take()
	for _, tp := range append(drop, owned...) {
		l.stateful.Revoke(tp.topic, tp.partition)
	}
}

// checkpoint hands the state a Stateful processor changed in the batch to
// produce, for the batch's transaction, and counts it in counts.
func (l *Loop) checkpoint(produce func(*kgo.Record), counts map[string]int) {
	if l.stateful == nil {
		return
	}
	for _, e := range l.stateful.Checkpoint() {
		produce(l.stateRecord(e))
		counts[l.cfg.StateTopic]++
	}
}

// rollBackState, after a batch that did not commit, has the state of every
// owned partition restored before the next batch: the processor's state
// holds the changes of the batch, which Kafka has not.
func (l *Loop) rollBackState() {
	if l.stateful != nil && l.state != nil {
		l.state.restoreAll()
	}
}

// tick calls a Ticker processor and produces what it returns, with the
// state it changed, in a transaction of its own. A failing Tick, or a
// transaction that does not commit, is retried at the next tick.
func (l *Loop) tick(ctx context.Context, sess session, now time.Time) error {
	l.m.Ticks.Inc()
	if l.stateful != nil {
		if err := l.syncState(ctx, l.stateful); err != nil {
			l.backOff(ctx, err)
			return nil
		}
	}
	recs, err := l.ticker.Tick(ctx, now)
	if err != nil {
		l.rollBackState()
		l.backOff(ctx, fmt.Errorf("tick: %w", err))
		return nil
	}
	var entries []StateEntry
	if l.stateful != nil {
		entries = l.stateful.Checkpoint()
	}
	if len(recs) == 0 && len(entries) == 0 {
		return nil
	}

	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.ShutdownTimeout)
	defer cancel()
	if err := sess.begin(); err != nil {
		return fmt.Errorf("unable to begin transaction: %w", err)
	}
	out := newPromises()
	counts := make(map[string]int, 2)
	produce := func(r *kgo.Record) {
		out.add()
		counts[r.Topic]++
		sess.produce(endCtx, r, out.done)
	}
	for _, r := range recs {
		produce(r)
	}
	for _, e := range entries {
		produce(l.stateRecord(e))
	}
	produceErr := sess.flush(endCtx)
	if produceErr == nil {
		produceErr = out.wait(endCtx)
	}
	if produceErr == nil {
		produceErr = out.firstErr()
	}
	committed, err := sess.end(endCtx, produceErr == nil)
	if err != nil || !committed {
		l.rollBackState()
	}
	if err != nil {
		l.m.Batches.WithLabelValues("abort").Inc()
		return fmt.Errorf("unable to end tick transaction: %w", err)
	}
	if !committed {
		l.m.Batches.WithLabelValues("abort").Inc()
		if produceErr != nil {
			l.backOff(ctx, produceErr)
		}
		return nil
	}
	l.m.Batches.WithLabelValues("commit").Inc()
	for topic, n := range counts {
		l.m.RecordsOut.WithLabelValues(topic).Add(float64(n))
	}
	return nil
}
