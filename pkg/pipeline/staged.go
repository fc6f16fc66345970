package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Staged is a Processor whose work splits into stages that the loop can
// spread over cores while keeping order where it matters:
//
//   - Decode reads one record. It keeps no state, so the loop runs it for
//     the records of a batch concurrently.
//   - Apply runs in consumption order (offset order within each
//     partition), one record at a time: it is where state (per-entity
//     history, detectors) changes.
//   - Encode writes the outputs of one record. It keeps no state either,
//     and runs concurrently like Decode.
//
// The value Decode returns is handed to Apply and then Encode for the same
// record. Outputs are produced in consumption order. Any stage may return
// a *Rejection to dead-letter the record (the later stages are skipped) or
// another error to retry the batch. Process, from Processor, must equal
// running the three stages in turn (RunStages does that); the loop uses it
// when a batch is too small to be worth splitting.
type Staged interface {
	Processor
	Decode(ctx context.Context, r *kgo.Record) (any, error)
	Apply(ctx context.Context, r *kgo.Record, v any) error
	Encode(ctx context.Context, r *kgo.Record, v any) ([]*kgo.Record, error)
}

// Recycler is implemented by a Staged processor that reuses the values its
// Decode returns, and what they hold, for later records. Once a batch has
// ended and the client has called the promise of every record produced in
// it, the loop passes each value Decode returned for the batch to Recycle,
// from one goroutine; neither the loop nor the client uses the value, or
// the records Encode made from it, afterwards. A value the loop cannot
// prove unused (a batch whose end failed) is never recycled, and is left
// to the garbage collector. Values from Process are never recycled.
type Recycler interface {
	Recycle(v any)
}

// RunStages runs Decode, Apply and Encode of p on r in turn, stopping at
// the first error: what the Process method of a Staged processor does.
func RunStages(ctx context.Context, p Staged, r *kgo.Record) ([]*kgo.Record, error) {
	v, err := p.Decode(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := p.Apply(ctx, r, v); err != nil {
		return nil, err
	}
	return p.Encode(ctx, r, v)
}

// minStagedBatch is the smallest batch worth fanning out over goroutines.
const minStagedBatch = 64

// errSkipped marks the records after a transient failure in a batch.
var errSkipped = errors.New("not processed: an earlier record of the batch failed")

// tally counts records by topic. Runs of records share a topic, which it
// counts without looking the topic up in the map each time.
type tally struct {
	m     map[string]int
	topic string // of the current run
	n     int    // records in the current run, not yet in m
}

func (t *tally) add(topic string) {
	if topic != t.topic {
		t.flush()
		t.topic = topic
	}
	t.n++
}

func (t *tally) flush() {
	if t.n > 0 {
		t.m[t.topic] += t.n
		t.n = 0
	}
}

// done returns the counts by topic.
func (t *tally) done() map[string]int {
	t.flush()
	return t.m
}

// decode checks r's size, then runs the Decode stage on it.
func (l *Loop) decode(ctx context.Context, p Staged, r *kgo.Record) (_ any, err error) {
	if len(r.Value) > l.cfg.MaxRecordBytes {
		return nil, &Rejection{Reason: ReasonTooLarge, Err: fmt.Errorf(
			"value is %d bytes, over the limit of %d", len(r.Value), l.cfg.MaxRecordBytes)}
	}
	defer recoverStage(&err)
	return p.Decode(ctx, r)
}

func apply(ctx context.Context, p Staged, r *kgo.Record, v any) (err error) {
	defer recoverStage(&err)
	return p.Apply(ctx, r, v)
}

func encode(ctx context.Context, p Staged, r *kgo.Record, v any) (_ []*kgo.Record, err error) {
	defer recoverStage(&err)
	return p.Encode(ctx, r, v)
}

// recoverStage, deferred by a stage, turns its panic into a rejection of
// the record: a bug that one record triggers must not stop the worker.
func recoverStage(err *error) {
	if p := recover(); p != nil {
		*err = panicRejection(p)
	}
}

func (m *Metrics) addIn(consumed map[string]int) {
	for topic, n := range consumed {
		m.RecordsIn.WithLabelValues(topic).Add(float64(n))
	}
}

// processStaged runs a batch through the stages of p. The batch is cut
// into Config.Parallelism contiguous parts: the parts are decoded at once,
// this goroutine then applies every record in order, and the parts are
// encoded at once, this goroutine handing the outputs of its own part to
// produce as it encodes them, and then the others', in consumption order.
// Each stage hands work to other goroutines once per batch: on few cores a
// goroutine takes microseconds to wake, which hand-offs per record, or per
// small chunk, would pay again and again. It returns the outputs counted by
// topic, the values Decode returned (nil where it was not run or failed),
// and the first transient failure; nothing from the failing record on is
// produced.
func (l *Loop) processStaged(ctx context.Context, p Staged, rs []*kgo.Record,
	produce func(*kgo.Record)) (map[string]int, []any, error) {
	n := len(rs)
	vals := make([]any, n)
	errs := make([]error, n)
	outs := make([][]*kgo.Record, n)
	size := (n + l.cfg.Parallelism - 1) / l.cfg.Parallelism

	// halt is set on the first transient failure: the batch will be
	// aborted, so the stages skip the work still ahead of them.
	var halt atomic.Bool
	transient := func(err error) bool {
		_, rejected := AsRejection(err)
		return err != nil && !rejected
	}
	// others runs fn on every part but the first, each on a goroutine of
	// its own; the WaitGroup says when they are done.
	others := func(fn func(lo, hi int)) *sync.WaitGroup {
		var wg sync.WaitGroup
		for lo := size; lo < n; lo += size {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(lo, min(lo+size, n))
			}()
		}
		return &wg
	}

	decodePart := func(lo, hi int) {
		for i := lo; i < hi && !halt.Load(); i++ {
			vals[i], errs[i] = l.decode(ctx, p, rs[i])
		}
	}
	wg := others(decodePart)
	decodePart(0, min(size, n))
	wg.Wait()

	for i := range rs {
		if halt.Load() {
			errs[i] = errSkipped
			continue
		}
		if errs[i] == nil {
			errs[i] = apply(ctx, p, rs[i], vals[i])
		}
		if transient(errs[i]) {
			halt.Store(true)
		}
	}
	counts := tally{m: make(map[string]int, 4)}
	consumed := tally{m: make(map[string]int, 1)}
	var failed error
	// emit hands record i's outputs, or its dead letter, to produce; it is
	// called in consumption order from this goroutine only.
	emit := func(i int) {
		if failed != nil {
			return
		}
		r := rs[i]
		rej, rejected := AsRejection(errs[i])
		switch {
		case errs[i] == nil:
			if o, rej := l.checkOutputs(outs[i]); rej != nil {
				outs[i] = l.reject(r, rej)
			} else {
				outs[i] = o
			}
		case rejected:
			outs[i] = l.reject(r, rej)
		default:
			failed = fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, errs[i])
			return
		}
		consumed.add(r.Topic)
		for _, o := range outs[i] {
			counts.add(o.Topic)
			produce(o)
		}
	}
	encodeOne := func(i int) {
		if errs[i] != nil || halt.Load() {
			return
		}
		outs[i], errs[i] = encode(ctx, p, rs[i], vals[i])
		if transient(errs[i]) {
			halt.Store(true)
		}
	}
	wg = others(func(lo, hi int) {
		for i := lo; i < hi; i++ {
			encodeOne(i)
		}
	})
	first := min(size, n)
	for i := range first {
		encodeOne(i)
		emit(i)
	}
	wg.Wait()
	for i := first; i < n; i++ {
		emit(i)
	}
	l.m.addIn(consumed.done())
	return counts.done(), vals, failed
}
