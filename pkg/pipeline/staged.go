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
// spread over cores while keeping per-partition order where it matters:
//
//   - Decode reads one record. It keeps no state, so the loop runs it for
//     the records of a batch concurrently.
//   - Apply runs in offset order within each partition, one record at a
//     time: it is where state (per-entity history, detectors) changes.
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

// stageChunk is how many records move between the stages at a time: large
// enough that handing a chunk on costs little per record, small enough that
// every stage has work soon after a batch starts.
const stageChunk = 64

// errSkipped marks the records after a transient failure in a batch.
var errSkipped = errors.New("not processed: an earlier record of the batch failed")

// processStaged runs a batch through the stages of p as a pipeline of
// chunks: Config.Parallelism goroutines decode, one applies in order,
// Config.Parallelism goroutines encode, and the calling goroutine hands
// the outputs to produce in consumption order, so that all stages work at
// once on different chunks. It returns the outputs counted by topic, the
// values Decode returned (nil where it was not run or failed) and the
// first transient failure; nothing from the failing record on is produced.
func (l *Loop) processStaged(ctx context.Context, p Staged, rs []*kgo.Record,
	produce func(*kgo.Record)) (map[string]int, []any, error) {
	n := len(rs)
	vals := make([]any, n)
	errs := make([]error, n)
	outs := make([][]*kgo.Record, n)

	// Each stage closes a chunk's channel once it is done with the chunk,
	// whether or not it did any work on it, so no stage waits forever. A
	// stage writes vals, errs and outs of a chunk only before closing its
	// channel, and the next stage reads them only after.
	chunks := (n + stageChunk - 1) / stageChunk
	decoded := make([]chan struct{}, chunks)
	applied := make([]chan struct{}, chunks)
	encoded := make([]chan struct{}, chunks)
	for c := range chunks {
		decoded[c] = make(chan struct{})
		applied[c] = make(chan struct{})
		encoded[c] = make(chan struct{})
	}
	bounds := func(c int) (int, int) { return c * stageChunk, min((c+1)*stageChunk, n) }

	// halt is set on the first transient failure: the batch will be
	// aborted, so the stages skip the work still ahead of them.
	var halt atomic.Bool
	transient := func(err error) bool {
		_, rejected := AsRejection(err)
		return err != nil && !rejected
	}

	var (
		wg                     sync.WaitGroup
		nextDecode, nextEncode atomic.Int64
	)
	take := func(next *atomic.Int64) int { return int(next.Add(1) - 1) }
	for range l.cfg.Parallelism {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for c := take(&nextDecode); c < chunks; c = take(&nextDecode) {
				lo, hi := bounds(c)
				for i := lo; i < hi && !halt.Load(); i++ {
					vals[i], errs[i] = l.decode(ctx, p, rs[i])
				}
				close(decoded[c])
			}
		}()
		go func() {
			defer wg.Done()
			for c := take(&nextEncode); c < chunks; c = take(&nextEncode) {
				<-applied[c]
				lo, hi := bounds(c)
				for i := lo; i < hi && !halt.Load(); i++ {
					if errs[i] != nil {
						continue
					}
					outs[i], errs[i] = encode(ctx, p, rs[i], vals[i])
					if transient(errs[i]) {
						halt.Store(true)
					}
				}
				close(encoded[c])
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for c := range chunks {
			<-decoded[c]
			lo, hi := bounds(c)
			for i := lo; i < hi; i++ {
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
			close(applied[c])
		}
	}()

	counts := tally{m: make(map[string]int, 4)}
	consumed := tally{m: make(map[string]int, 1)}
	var failed error
	for c := range chunks {
		<-encoded[c]
		lo, hi := bounds(c)
		for i := lo; i < hi && failed == nil; i++ {
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
				continue
			}
			consumed.add(r.Topic)
			for _, o := range outs[i] {
				counts.add(o.Topic)
				produce(o)
			}
		}
	}
	wg.Wait()
	l.m.addIn(consumed.done())
	return counts.done(), vals, failed
}

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
