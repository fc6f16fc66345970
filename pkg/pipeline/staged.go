package pipeline

import (
	"context"
	"fmt"
	"sync"

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
// record. Outputs with the same key are produced in consumption order;
// outputs with different keys may be produced in another order. Any stage may return a *Rejection to dead-letter the record (the
// later stages are skipped) or another error to retry the batch. Process,
// from Processor, must equal running the three stages in turn; the loop
// uses it when a batch is too small to be worth splitting.
type Staged interface {
	Processor
	Decode(ctx context.Context, r *kgo.Record) (any, error)
	Apply(ctx context.Context, r *kgo.Record, v any) error
	Encode(ctx context.Context, r *kgo.Record, v any) ([]*kgo.Record, error)
}

// minStagedBatch is the smallest batch worth fanning out over goroutines.
const minStagedBatch = 64

// processStaged processes a batch through the stages of p, and hands every
// output to produce, in consumption order for each output key. It returns the outputs counted by
// topic and the first transient failure; records after a failure are not
// produced.
func (l *Loop) processStaged(ctx context.Context, p Staged, rs []*kgo.Record,
	produce func(*kgo.Record)) (map[string]int, error) {
	vals := make([]any, len(rs))
	errs := make([]error, len(rs))
	outs := make([][]*kgo.Record, len(rs))

	l.fanOut(len(rs), func(i int) {
		if len(rs[i].Value) > l.cfg.MaxRecordBytes {
			errs[i] = &Rejection{Reason: ReasonTooLarge, Err: fmt.Errorf(
				"value is %d bytes, over the limit of %d", len(rs[i].Value), l.cfg.MaxRecordBytes)}
			return
		}
		vals[i], errs[i] = guard(func() (any, error) { return p.Decode(ctx, rs[i]) })
	})
	for i, r := range rs {
		if errs[i] == nil {
			_, errs[i] = guard(func() (any, error) { return nil, p.Apply(ctx, r, vals[i]) })
		}
		if errs[i] != nil {
			if _, ok := AsRejection(errs[i]); !ok {
				// Later records must not be applied before this one.
				for j := i + 1; j < len(rs); j++ {
					errs[j] = errSkipped
				}
				break
			}
		}
	}
	l.fanOut(len(rs), func(i int) {
		if errs[i] == nil {
			var v any
			v, errs[i] = guard(func() (any, error) { return p.Encode(ctx, rs[i], vals[i]) })
			outs[i], _ = v.([]*kgo.Record)
		}
	})

	consumed := make(map[string]int, 1)
	for i, r := range rs {
		if errs[i] != nil {
			rej, ok := AsRejection(errs[i])
			if !ok {
				// The batch is aborted: nothing of it needs producing.
				l.m.addIn(consumed)
				return nil, fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, errs[i])
			}
			outs[i] = l.reject(r, rej)
		} else if o, rej := l.checkOutputs(outs[i]); rej != nil {
			outs[i] = l.reject(r, rej)
		} else {
			outs[i] = o
		}
		consumed[r.Topic]++
	}
	l.m.addIn(consumed)
	return l.produceByKey(outs, produce), nil
}

// produceByKey hands every output to produce, spread over goroutines by
// the hash of the output's key, so that outputs with the same key (and so
// the same output partition) keep consumption order. It returns the
// outputs counted by topic.
func (l *Loop) produceByKey(outs [][]*kgo.Record, produce func(*kgo.Record)) map[string]int {
	workers := l.cfg.Parallelism
	counts := make(map[string]int, 4)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make(map[string]int, 4)
			for _, os := range outs {
				for _, o := range os {
					if workers > 1 && int(keyHash(o.Key)%uint32(workers)) != w {
						continue
					}
					local[o.Topic]++
					produce(o)
				}
			}
			mu.Lock()
			for t, n := range local {
				counts[t] += n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return counts
}

// keyHash is FNV-1a, enough to spread keys over a few goroutines.
func keyHash(k []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range k {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// errSkipped marks the records after a transient failure in a batch.
var errSkipped = fmt.Errorf("not processed: an earlier record of the batch failed")

// fanOut calls fn for 0..n-1, spread over Config.Parallelism goroutines
// in contiguous chunks, and returns when every call has.
func (l *Loop) fanOut(n int, fn func(i int)) {
	workers := min(l.cfg.Parallelism, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// guard runs fn, turning a panic into a rejection of the record.
func guard(fn func() (any, error)) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, panicRejection(p)
		}
	}()
	return fn()
}

func (m *Metrics) addIn(consumed map[string]int) {
	for topic, n := range consumed {
		m.RecordsIn.WithLabelValues(topic).Add(float64(n))
	}
}
