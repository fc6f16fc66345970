package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
)

// stagedProc is a Staged processor for tests. Values name what it does:
// "bad-decode" is rejected by Decode, "panic-encode" panics in Encode, and
// "flaky" fails Apply transiently a few times before it passes.
type stagedProc struct {
	out string

	mu      sync.Mutex
	flaky   int             // transient Apply failures left
	applied []string        // values in the order Apply saw them
	last    map[int32]int64 // last offset applied per partition
	run     map[int32]int64 // first offset of the current run per partition
	unorder int             // Apply calls out of offset order
}

func (p *stagedProc) Process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	return pipeline.RunStages(ctx, p, r)
}

func (p *stagedProc) Decode(_ context.Context, r *kgo.Record) (any, error) {
	if string(r.Value) == "bad-decode" {
		return nil, pipeline.Reject("bad_input", errors.New("cannot decode"))
	}
	return strings.ToUpper(string(r.Value)), nil
}

func (p *stagedProc) Apply(_ context.Context, r *kgo.Record, v any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if string(r.Value) == "flaky" && p.flaky > 0 {
		p.flaky--
		return errors.New("dependency down")
	}
	// Offsets rise within a run; an aborted batch is applied again from
	// the last commit, so going back is a new run only if it goes back to
	// where the current run started or before.
	last, ok := p.last[r.Partition]
	switch {
	case !ok:
		p.run[r.Partition] = r.Offset
	case r.Offset <= last && r.Offset > p.run[r.Partition]:
		p.unorder++
	case r.Offset <= last:
		p.run[r.Partition] = r.Offset
	}
	p.last[r.Partition] = r.Offset
	p.applied = append(p.applied, v.(string))
	return nil
}

func (p *stagedProc) Encode(_ context.Context, r *kgo.Record, v any) ([]*kgo.Record, error) {
	if string(r.Value) == "panic-encode" {
		panic("encoder bug")
	}
	return []*kgo.Record{{Topic: p.out, Key: r.Key, Value: []byte(v.(string))}}, nil
}

// indexOf returns the index of the input whose upper-cased value is v.
func indexOf(vals [][]byte, v string) int {
	for i, x := range vals {
		if strings.ToUpper(string(x)) == v {
			return i
		}
	}
	return -1
}

func TestLoopRunsStagesInOrder(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		lt := newLoopTopics(t, c, 1)
		const n = 300
		vals := make([][]byte, n)
		want := make([]string, 0, n)
		for i := range vals {
			switch i {
			case 50:
				vals[i] = []byte("bad-decode")
			case 120:
				vals[i] = []byte("panic-encode")
			case 200:
				vals[i] = []byte("flaky")
			default:
				vals[i] = []byte(fmt.Sprintf("v-%03d", i))
			}
			if i != 50 && i != 120 {
				want = append(want, strings.ToUpper(string(vals[i])))
			}
		}
		rs := make([]*kgo.Record, n)
		for i, v := range vals {
			rs[i] = &kgo.Record{Topic: lt.in, Key: []byte{byte('a' + i%5)}, Value: v}
		}
		c.Produce(t, rs...)

		proc := &stagedProc{out: lt.out, flaky: 2, last: map[int32]int64{}, run: map[int32]int64{}}
		var m *pipeline.Metrics
		_, stop := startLoop(t, c, lt, proc, func(cfg *pipeline.Config) {
			cfg.MaxPollRecords = n
			cfg.Parallelism = 2
			m = cfg.Metrics
		})
		// Wait for all the outputs, however long the first transaction of a
		// fresh broker takes, then look for strays.
		got := c.ReadAll(t, lt.out, len(want), time.Minute)
		if more := c.ReadAll(t, lt.out, len(want)+1, 2*time.Second); len(more) > len(got) {
			got = more
		}
		dead := c.ReadAll(t, lt.dlq, 2, 30*time.Second)
		if more := c.ReadAll(t, lt.dlq, 3, 2*time.Second); len(more) > len(dead) {
			dead = more
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}

		if len(got) != len(want) {
			t.Fatalf("got %d outputs, want %d", len(got), len(want))
		}
		// Outputs of one key keep consumption order; keys may interleave.
		wantByKey, gotByKey := map[string][]string{}, map[string][]string{}
		for _, v := range want {
			k := string(rune('a' + indexOf(vals, v)%5))
			wantByKey[k] = append(wantByKey[k], v)
		}
		for _, r := range got {
			gotByKey[string(r.Key)] = append(gotByKey[string(r.Key)], string(r.Value))
		}
		for k, w := range wantByKey {
			if fmt.Sprint(gotByKey[k]) != fmt.Sprint(w) {
				t.Errorf("outputs of key %s: got %v, want %v in that order", k, gotByKey[k], w)
			}
		}
		reasons := map[string]string{}
		for _, r := range dead {
			reason, _ := pipeline.Header(r, pipeline.HeaderReason)
			reasons[string(r.Value)] = reason
		}
		if len(dead) != 2 || reasons["bad-decode"] != "bad_input" ||
			reasons["panic-encode"] != pipeline.ReasonPanic {
			t.Errorf("dead letters %v, want bad-decode as bad_input and panic-encode as panic",
				reasons)
		}
		proc.mu.Lock()
		defer proc.mu.Unlock()
		if proc.unorder != 0 {
			t.Errorf("Apply saw %d records out of offset order within a partition", proc.unorder)
		}
		if r := testutil.ToFloat64(m.Retries); r != 2 {
			t.Errorf("retries metric = %v, want 2 (one per transient failure)", r)
		}
	})
}
