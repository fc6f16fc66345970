package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
)

type partKey struct {
	topic     string
	partition int32
}

// countingProc is a Stateful processor for tests: it counts the records of
// each key and writes the count so far, so that any state lost, doubled or
// rolled back wrongly shows as a gap or a repeat in a key's counts.
type countingProc struct {
	out string

	mu       sync.Mutex
	counts   map[partKey]map[string]int64
	dirty    map[partKey]map[string]bool
	flaky    int // transient failures left for the value "flaky"
	restores int
}

func newCountingProc(out string) *countingProc {
	return &countingProc{
		out:    out,
		counts: map[partKey]map[string]int64{},
		dirty:  map[partKey]map[string]bool{},
	}
}

func (p *countingProc) Process(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pk := partKey{r.Topic, r.Partition}
	if p.counts[pk] == nil {
		p.counts[pk] = map[string]int64{}
		p.dirty[pk] = map[string]bool{}
	}
	key := string(r.Key)
	p.counts[pk][key]++
	p.dirty[pk][key] = true
	// The count is changed before the failure, as a detector would have
	// learnt from the record: the rollback must undo it.
	if string(r.Value) == "flaky" && p.flaky > 0 {
		p.flaky--
		return nil, errors.New("dependency down")
	}
	n := p.counts[pk][key]
	return []*kgo.Record{{Topic: p.out, Key: r.Key, Value: []byte(strconv.FormatInt(n, 10))}}, nil
}

func (p *countingProc) Checkpoint() []pipeline.StateEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	var es []pipeline.StateEntry
	for pk, keys := range p.dirty {
		for k := range keys {
			es = append(es, pipeline.StateEntry{
				Topic: pk.topic, Partition: pk.partition, Key: k,
				Value: []byte(strconv.FormatInt(p.counts[pk][k], 10)),
			})
		}
		clear(keys)
	}
	return es
}

func (p *countingProc) Restore(topic string, partition int32,
	entries iter.Seq[pipeline.StateEntry]) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pk := partKey{topic, partition}
	p.counts[pk] = map[string]int64{}
	p.dirty[pk] = map[string]bool{}
	p.restores++
	for e := range entries {
		if e.Value == nil {
			delete(p.counts[pk], e.Key)
			continue
		}
		n, err := strconv.ParseInt(string(e.Value), 10, 64)
		if err != nil {
			return fmt.Errorf("key %q: %w", e.Key, err)
		}
		p.counts[pk][e.Key] = n
	}
	return nil
}

func (p *countingProc) Revoke(topic string, partition int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.counts, partKey{topic, partition})
	delete(p.dirty, partKey{topic, partition})
}

// TestLoopKeepsStateAcrossRestartsRebalancesAndAborts runs a counting
// processor over 900 records of 12 keys: the first third through one loop,
// which is then stopped; the rest through two loops of the group, started
// together (a restart and a rebalance), one batch of which fails once and
// is aborted. Every key's counts, read back committed, must run 1, 2, 3...
// with no gap and no repeat: state restored on each assignment, and rolled
// back with the aborted batch.
func TestLoopKeepsStateAcrossRestartsRebalancesAndAborts(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 3)
		compact := "compact"
		state := c.Topic(t, "loop-state", 3, map[string]*string{"cleanup.policy": &compact})
		const keys, n = 12, 900
		records := func(from, to int) []*kgo.Record {
			var rs []*kgo.Record
			for i := from; i < to; i++ {
				v := "v" + strconv.Itoa(i)
				if i == 2*n/3 {
					v = "flaky"
				}
				rs = append(rs, &kgo.Record{Topic: lt.in,
					Key: []byte("k" + strconv.Itoa(i%keys)), Value: []byte(v)})
			}
			return rs
		}
		withState := func(id string) func(*pipeline.Config) {
			return func(cfg *pipeline.Config) {
				cfg.StateTopic = state
				cfg.WorkerID = id
			}
		}

		first := newCountingProc(lt.out)
		_, stop := startLoop(t, c, lt, first, withState("a"))
		c.Produce(t, records(0, n/3)...)
		if got := c.ReadAll(t, lt.out, n/3, 30*time.Second); len(got) != n/3 {
			t.Fatalf("got %d outputs from the first loop, want %d", len(got), n/3)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}

		a, b := newCountingProc(lt.out), newCountingProc(lt.out)
		a.flaky, b.flaky = 1, 1
		_, stopA := startLoop(t, c, lt, a, withState("a"))
		_, stopB := startLoop(t, c, lt, b, withState("b"))
		c.Produce(t, records(n/3, n)...)
		got := c.ReadAll(t, lt.out, n, 60*time.Second)
		if strays := c.ReadAll(t, lt.out, n+1, 3*time.Second); len(strays) > len(got) {
			got = strays
		}
		for _, stop := range []func() error{stopA, stopB} {
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		}
		if len(got) != n {
			t.Fatalf("got %d outputs, want %d", len(got), n)
		}
		next := map[string]int64{}
		for _, r := range got {
			k := string(r.Key)
			want := next[k] + 1
			if string(r.Value) != strconv.FormatInt(want, 10) {
				t.Fatalf("key %s: got count %s after %d, want %d", k, r.Value, next[k], want)
			}
			next[k] = want
		}
		if len(next) != keys {
			t.Errorf("got counts for %d keys, want %d", len(next), keys)
		}
		if a.restores+b.restores == 0 {
			t.Error("no state was restored")
		}
	})
}

// debounceProc is a Stateful Ticker for tests: it produces nothing when a
// record comes, remembers its key, and writes each remembered key once at
// the next tick, as an explainer writes an incident once its burst ends.
type debounceProc struct {
	out string

	mu      sync.Mutex
	pending map[partKey]map[string]bool
	changed map[partKey]map[string]bool // keys to checkpoint; false deletes
}

func (p *debounceProc) Process(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pk := partKey{r.Topic, r.Partition}
	if p.pending[pk] == nil {
		p.pending[pk], p.changed[pk] = map[string]bool{}, map[string]bool{}
	}
	p.pending[pk][string(r.Key)] = true
	p.changed[pk][string(r.Key)] = true
	return nil, nil
}

func (p *debounceProc) Tick(context.Context, time.Time) ([]*kgo.Record, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*kgo.Record
	for pk, keys := range p.pending {
		for k := range keys {
			out = append(out, &kgo.Record{Topic: p.out, Key: []byte(k)})
			p.changed[pk][k] = false
		}
		clear(keys)
	}
	return out, nil
}

func (p *debounceProc) Checkpoint() []pipeline.StateEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	var es []pipeline.StateEntry
	for pk, keys := range p.changed {
		for k, set := range keys {
			e := pipeline.StateEntry{Topic: pk.topic, Partition: pk.partition, Key: k}
			if set {
				e.Value = []byte{1}
			}
			es = append(es, e)
		}
		clear(keys)
	}
	return es
}

func (p *debounceProc) Restore(topic string, partition int32,
	entries iter.Seq[pipeline.StateEntry]) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pk := partKey{topic, partition}
	p.pending[pk], p.changed[pk] = map[string]bool{}, map[string]bool{}
	for e := range entries {
		if e.Value == nil {
			delete(p.pending[pk], e.Key)
		} else {
			p.pending[pk][e.Key] = true
		}
	}
	return nil
}

func (p *debounceProc) Revoke(topic string, partition int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, partKey{topic, partition})
	delete(p.changed, partKey{topic, partition})
}

// TestLoopTicksWithoutInput feeds a debouncing Ticker a burst of records
// and then nothing: each key must still come out, once, from the ticks.
func TestLoopTicksWithoutInput(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 2)
		compact := "compact"
		state := c.Topic(t, "loop-state", 2, map[string]*string{"cleanup.policy": &compact})
		p := &debounceProc{out: lt.out, pending: map[partKey]map[string]bool{},
			changed: map[partKey]map[string]bool{}}
		_, stop := startLoop(t, c, lt, p, func(cfg *pipeline.Config) {
			cfg.StateTopic = state
			cfg.TickInterval = 50 * time.Millisecond
		})
		var rs []*kgo.Record
		for i := range 60 {
			rs = append(rs, &kgo.Record{Topic: lt.in, Key: []byte("k" + strconv.Itoa(i%6))})
		}
		c.Produce(t, rs...)
		got := c.ReadAll(t, lt.out, 6, 30*time.Second)
		extra := c.ReadAll(t, lt.out, 7, 2*time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range got {
			seen[string(r.Key)] = true
		}
		if len(got) != 6 || len(seen) != 6 {
			t.Fatalf("got %d outputs for %d keys, want one for each of 6 keys", len(got), len(seen))
		}
		if len(extra) != 6 {
			t.Errorf("got %d outputs after waiting, want still 6", len(extra))
		}
	})
}
