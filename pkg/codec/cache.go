package codec

import (
	"context"
	"sync"
	"time"
)

// cache runs one lookup per key at a time and keeps what it found:
// concurrent gets of a key share one call of fetch; a success is kept for
// good, a failure for as long as the caller's keep says (zero: not at all,
// the next get tries again).
type cache[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V] // guarded by mu
}

// call is one run of fetch. The getter that starts it runs fetch on its own
// goroutine, sets val, err, until and retry, then closes done; the other
// getters read those fields only after done is closed.
type call[V any] struct {
	done  chan struct{}
	val   V
	err   error
	until time.Time // the failure is kept until then
	retry bool      // fetch ended with its getter's ctx: waiters run it again
}

func newCache[K comparable, V any]() *cache[K, V] {
	return &cache[K, V]{calls: make(map[K]*call[V])}
}

// get returns the value for key, calling fetch (with the ctx of the getter
// that runs it) when nothing is kept. A getter whose ctx ends while it
// waits returns ctx.Err().
func (c *cache[K, V]) get(
	ctx context.Context,
	key K,
	fetch func(context.Context) (V, error),
	keep func(error) time.Duration,
) (V, error) {
	for {
		c.mu.Lock()
		cl, ok := c.calls[key]
		if ok && cl.expired() {
			delete(c.calls, key)
			ok = false
		}
		if !ok {
			cl = &call[V]{done: make(chan struct{})}
			c.calls[key] = cl
			c.mu.Unlock()
			return c.run(ctx, key, cl, fetch, keep)
		}
		c.mu.Unlock()

		select {
		case <-cl.done:
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err()
		}
		if !cl.retry {
			return cl.val, cl.err
		}
	}
}

func (c *cache[K, V]) run(
	ctx context.Context,
	key K,
	cl *call[V],
	fetch func(context.Context) (V, error),
	keep func(error) time.Duration,
) (V, error) {
	finished := false
	defer func() {
		if !finished { // fetch panicked: let the waiters try for themselves
			cl.retry = true
			c.forget(key, cl)
			close(cl.done)
		}
	}()

	val, err := fetch(ctx)
	finished = true
	cl.val, cl.err = val, err
	if err != nil {
		var d time.Duration
		if ctx.Err() != nil {
			cl.retry = true
		} else {
			d = keep(err)
		}
		if d > 0 {
			cl.until = time.Now().Add(d)
		} else {
			c.forget(key, cl)
		}
	}
	close(cl.done)
	return val, err
}

func (c *cache[K, V]) forget(key K, cl *call[V]) {
	c.mu.Lock()
	if c.calls[key] == cl {
		delete(c.calls, key)
	}
	c.mu.Unlock()
}

// expired reports whether a finished call holds a failure past its time.
// It must be called with the cache's mu held; a running call is never
// expired.
func (cl *call[V]) expired() bool {
	select {
	case <-cl.done:
		return cl.err != nil && time.Now().After(cl.until)
	default:
		return false
	}
}
