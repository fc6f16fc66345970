package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestPromisesWaitForEveryRecord(t *testing.T) {
	p := newPromises()
	r := &kgo.Record{Topic: "out"}
	// The count touches zero while records are still being added.
	p.add()
	p.done(r, nil)
	var wg sync.WaitGroup
	for range 100 {
		p.add()
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Millisecond)
			p.done(r, nil)
		}()
	}
	if err := p.wait(context.Background()); err != nil {
		t.Fatalf("wait: %v", err)
	}
	if n := p.pending.Load(); n != 0 {
		t.Errorf("wait returned with %d promises pending, want 0", n)
	}
	wg.Wait()
	if err := p.firstErr(); err != nil {
		t.Errorf("firstErr = %v, want nil", err)
	}
}

func TestPromisesKeepTheFirstError(t *testing.T) {
	p := newPromises()
	first, second := errors.New("first"), errors.New("second")
	p.add()
	p.add()
	p.done(&kgo.Record{Topic: "a"}, first)
	p.done(&kgo.Record{Topic: "b"}, second)
	if err := p.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.firstErr(); !errors.Is(err, first) {
		t.Errorf("firstErr = %v, want it to wrap %v", err, first)
	}
}

func TestPromisesWaitGivesUpWithTheContext(t *testing.T) {
	p := newPromises()
	p.add()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait with a promise that never runs = %v, want the deadline", err)
	}
}
