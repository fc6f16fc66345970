package classify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Holder holds the model in use and replaces it without a restart. Readers
// take the current model with Model and use it for as long as they need:
// a swap never changes a model a reader holds, so a record in flight
// finishes on the model it started with, and the old model is freed when
// the last reader drops it.
type Holder struct {
	path string
	cur  atomic.Pointer[Model]

	mu    sync.Mutex // serialises Reload; guards stamp
	stamp fileStamp  // of the file the current model was read from
}

// fileStamp tells whether a model file changed since it was read: its
// size, modification time and stored checksum, its last 4 bytes.
type fileStamp struct {
	size    int64
	modTime time.Time
	sum     [4]byte
}

func stampOf(path string) (fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileStamp{}, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fileStamp{}, err
	}
	st := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	if st.size >= 4 {
		if _, err := f.ReadAt(st.sum[:], st.size-4); err != nil {
			return fileStamp{}, err
		}
	}
	return st, nil
}

// NewHolder returns a holder of m that has no file to reload from.
func NewHolder(m *Model) *Holder {
	h := &Holder{}
	h.cur.Store(m)
	return h
}

// LoadHolder loads the model file at path and returns a holder of it that
// Reload and Watch read again.
func LoadHolder(path string) (*Holder, error) {
	h := &Holder{path: path}
	if _, err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// Model returns the current model. It never blocks.
func (h *Holder) Model() *Model { return h.cur.Load() }

// Swap makes m the current model and returns the one it replaces.
func (h *Holder) Swap(m *Model) *Model { return h.cur.Swap(m) }

// errNoPath is returned by Reload on a holder made by NewHolder.
var errNoPath = errors.New("the holder has no model file")

// Reload reads the model file again and, when it loads, makes it the
// current model. A file that fails to load leaves the current model in
// place and is reported. It returns whether the model changed; a file whose
// size, modification time and checksum did not change since the last load
// is not read again.
func (h *Holder) Reload() (bool, error) {
	if h.path == "" {
		return false, errNoPath
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := stampOf(h.path)
	if err != nil {
		return false, fmt.Errorf("unable to reload model: %w", err)
	}
	if h.cur.Load() != nil && st == h.stamp {
		return false, nil
	}
	m, err := Load(h.path)
	if err != nil {
		return false, err
	}
	h.stamp = st
	h.cur.Store(m)
	return true, nil
}

// Watch calls Reload every interval until ctx ends, and reports each
// reload that changed the model or failed to onReload, which may be nil.
// It blocks until ctx ends and returns ctx.Err().
func (h *Holder) Watch(ctx context.Context, every time.Duration,
	onReload func(m *Model, err error)) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		changed, err := h.Reload()
		if onReload != nil && (changed || err != nil) {
			onReload(h.Model(), err)
		}
	}
}
