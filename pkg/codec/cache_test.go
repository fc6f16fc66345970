package codec

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheWaiterTakesOverFromCanceledFetch(t *testing.T) {
	c := newCache[int, string]()
	var calls atomic.Int64
	started := make(chan struct{})
	fetch := func(ctx context.Context) (string, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "found", nil
	}
	never := func(error) time.Duration { return 0 }

	ctx1, cancel1 := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := c.get(ctx1, 1, fetch, never)
		first <- err
	}()
	<-started
	second := make(chan string, 1)
	go func() {
		v, err := c.get(t.Context(), 1, fetch, never)
		if err != nil {
			t.Error(err)
		}
		second <- v
	}()
	cancel1()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled getter: got %v, want context.Canceled", err)
	}
	if got := <-second; got != "found" {
		t.Errorf("waiting getter: got %q, want %q", got, "found")
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("got %d fetches, want 2", got)
	}
}

func TestCacheKeepsFailuresForTheirTime(t *testing.T) {
	c := newCache[int, string]()
	var calls atomic.Int64
	fail := errors.New("no")
	fetch := func(context.Context) (string, error) {
		calls.Add(1)
		return "", fail
	}
	for _, tt := range []struct {
		name  string
		keep  time.Duration
		calls int64
	}{
		{"a failure not kept is fetched again", 0, 3},
		{"a kept failure is not", time.Hour, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			key := int(tt.keep)
			for range 3 {
				if _, err := c.get(t.Context(), key, fetch, func(error) time.Duration {
					return tt.keep
				}); err != fail {
					t.Fatalf("got %v, want %v", err, fail)
				}
			}
			if got := calls.Load(); got != tt.calls {
				t.Errorf("got %d fetches, want %d", got, tt.calls)
			}
		})
	}

	// A failure whose time has passed is fetched again.
	c.calls[99] = &call[string]{done: closed(), err: fail, until: time.Now().Add(-time.Second)}
	calls.Store(0)
	if _, err := c.get(t.Context(), 99, fetch, func(error) time.Duration { return 0 }); err != fail {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("expired failure: got %d fetches, want 1", got)
	}
}

func closed() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
