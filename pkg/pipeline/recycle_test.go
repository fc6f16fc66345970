package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
)

// recyclingProc is a Staged Recycler for tests. It checks that a value
// comes back only after the client has let go of the record made from it,
// which the client reports to unbuffered before it calls the promise.
type recyclingProc struct {
	out string

	mu         sync.Mutex
	flaky      int                  // transient Apply failures left for "flaky"
	decoded    int                  // values Decode returned
	recycled   map[*recVal]bool     // values Recycle got
	unbuffered map[*kgo.Record]bool // records the client is done with
	early      int                  // values recycled while the client held their record
	twice      int                  // values recycled more than once
}

type recVal struct {
	value []byte
	out   *kgo.Record // set by Encode
}

func (p *recyclingProc) OnProduceRecordUnbuffered(r *kgo.Record, _ error) {
	p.mu.Lock()
	p.unbuffered[r] = true
	p.mu.Unlock()
}

func (p *recyclingProc) Process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	return pipeline.RunStages(ctx, p, r)
}

func (p *recyclingProc) Decode(_ context.Context, r *kgo.Record) (any, error) {
	p.mu.Lock()
	p.decoded++
	p.mu.Unlock()
	return &recVal{value: r.Value}, nil
}

func (p *recyclingProc) Apply(_ context.Context, r *kgo.Record, _ any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if string(r.Value) == "flaky" && p.flaky > 0 {
		p.flaky--
		return errors.New("dependency down")
	}
	return nil
}

func (p *recyclingProc) Encode(_ context.Context, r *kgo.Record, v any) ([]*kgo.Record, error) {
	rv := v.(*recVal)
	rv.out = &kgo.Record{Topic: p.out, Key: r.Key, Value: rv.value}
	return []*kgo.Record{rv.out}, nil
}

func (p *recyclingProc) Recycle(v any) {
	rv := v.(*recVal)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.recycled[rv] {
		p.twice++
	}
	p.recycled[rv] = true
	if rv.out != nil && !p.unbuffered[rv.out] {
		p.early++
	}
}

func TestLoopRecyclesValuesOnceTheClientIsDone(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		for _, atLeastOnce := range []bool{false, true} {
			name := "exactly once"
			if atLeastOnce {
				name = "at least once"
			}
			t.Run(name, func(t *testing.T) { checkRecycling(t, c, atLeastOnce) })
		}
	})
}

// checkRecycling runs a loop over a Recycler, with one transient failure
// that aborts a batch, and checks that every value comes back once, after
// the client is done with its record.
func checkRecycling(t *testing.T, c *kafkatest.Cluster, atLeastOnce bool) {
	t.Helper()
	lt := newLoopTopics(t, c, 2)
	const n = 400
	rs := make([]*kgo.Record, n)
	for i := range rs {
		v := fmt.Sprintf("v-%03d", i)
		if i == 150 {
			v = "flaky" // aborts its batch once, which is processed again
		}
		rs[i] = &kgo.Record{Topic: lt.in, Key: []byte{byte('a' + i%3)}, Value: []byte(v)}
	}
	c.Produce(t, rs...)

	proc := &recyclingProc{
		out: lt.out, flaky: 1,
		recycled: map[*recVal]bool{}, unbuffered: map[*kgo.Record]bool{},
	}
	_, stop := startLoop(t, c, lt, proc, func(cfg *pipeline.Config) {
		cfg.MaxPollRecords = 100
		cfg.AtLeastOnce = atLeastOnce
		cfg.ClientOpts = append(cfg.ClientOpts, kgo.WithHooks(proc))
	})
	got := c.ReadAll(t, lt.out, n, time.Minute)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("got %d outputs, want %d", len(got), n)
	}

	proc.mu.Lock()
	defer proc.mu.Unlock()
	if proc.decoded <= n {
		t.Errorf("got %d values decoded, want over %d: the aborted batch again", proc.decoded, n)
	}
	if len(proc.recycled) != proc.decoded {
		t.Errorf("got %d values recycled, want all %d decoded", len(proc.recycled),
			proc.decoded)
	}
	if proc.early != 0 || proc.twice != 0 {
		t.Errorf("got %d values recycled before the client was done and %d twice, want 0",
			proc.early, proc.twice)
	}
}
