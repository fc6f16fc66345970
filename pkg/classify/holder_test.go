package classify

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// twoModels returns two models of the easy task with different versions.
func twoModels(t *testing.T) (*Model, *Model) {
	t.Helper()
	train := easyTask.generate(600, 1, 1)
	cfg := smallConfig()
	a := trainSmall(t, train, cfg)
	cfg.Seed++
	b := trainSmall(t, train, cfg)
	if a.Version() == b.Version() {
		t.Fatalf("two seeds gave the same version %s", a.Version())
	}
	return a, b
}

// saveAs writes m to path, failing the test on error.
func saveAs(t *testing.T, m *Model, path string) {
	t.Helper()
	if _, err := m.Save(path); err != nil {
		t.Fatal(err)
	}
}

func TestHolderReloadsUnderConcurrentPredictions(t *testing.T) {
	a, b := twoModels(t)
	path := filepath.Join(t.TempDir(), "model.bin")
	saveAs(t, a, path)
	h, err := LoadHolder(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Model().Version(); got != a.Version() {
		t.Fatalf("got version %s, want %s", got, a.Version())
	}
	texts := easyTask.generate(50, 1, 3)

	// Readers predict without pause while the file flips between the two
	// models; every prediction must come whole from one of them.
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg   sync.WaitGroup
		seen [2]atomic.Int64
		bad  atomic.Value
	)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r; ctx.Err() == nil; i++ {
				m := h.Model()
				text := texts[i%len(texts)].Text
				p := m.Predict(text)
				switch m.Version() {
				case a.Version():
					seen[0].Add(1)
					if want := a.Predict(text); p != want {
						bad.Store("model a predicted differently inside the holder")
					}
				case b.Version():
					seen[1].Add(1)
					if want := b.Predict(text); p != want {
						bad.Store("model b predicted differently inside the holder")
					}
				default:
					bad.Store("a model of unknown version: " + m.Version())
				}
			}
		}()
	}
	for i := range 6 {
		next := b
		if i%2 == 1 {
			next = a
		}
		saveAs(t, next, path)
		changed, err := h.Reload()
		if err != nil || !changed {
			t.Fatalf("reload %d: changed %v, error %v; want a change", i, changed, err)
		}
		if got := h.Model().Version(); got != next.Version() {
			t.Fatalf("reload %d: got version %s, want %s", i, got, next.Version())
		}
		waitFor(t, func() bool { return seen[0].Load() > int64(i) && seen[1].Load() > int64(i) })
	}
	cancel()
	wg.Wait()
	if msg := bad.Load(); msg != nil {
		t.Fatal(msg)
	}
}

// waitFor polls cond until it holds, failing the test after 30 seconds:
// long, for a machine loaded by the race detector and other tests.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHolderKeepsTheModelWhenTheNewFileIsBad(t *testing.T) {
	a, _ := twoModels(t)
	path := filepath.Join(t.TempDir(), "model.bin")
	saveAs(t, a, path)
	h, err := LoadHolder(path)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := h.Reload(); err != nil || changed {
		t.Fatalf("reload of the same file: changed %v, error %v; want neither", changed, err)
	}
	if err := os.WriteFile(path, []byte("not a model"), 0o600); err != nil {
		t.Fatal(err)
	}
	changed, err := h.Reload()
	if err == nil || changed {
		t.Errorf("got changed %v, error %v; want an error and no change", changed, err)
	}
	if got := h.Model().Version(); got != a.Version() {
		t.Errorf("got version %s, want the old model's %s", got, a.Version())
	}
}

func TestHolderWatchPicksUpANewFile(t *testing.T) {
	a, b := twoModels(t)
	path := filepath.Join(t.TempDir(), "model.bin")
	saveAs(t, a, path)
	h, err := LoadHolder(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reloaded := make(chan string, 4)
	done := make(chan error, 1)
	go func() {
		done <- h.Watch(ctx, 5*time.Millisecond, func(m *Model, err error) {
			if err == nil {
				reloaded <- m.Version()
			}
		})
	}()
	saveAs(t, b, path)
	select {
	case v := <-reloaded:
		if v != b.Version() {
			t.Errorf("got version %s after the reload, want %s", v, b.Version())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reload within 5s")
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Watch returned %v, want context.Canceled", err)
	}
}

func TestHolderWithoutAFileCannotReload(t *testing.T) {
	a, b := twoModels(t)
	h := NewHolder(a)
	if _, err := h.Reload(); err == nil {
		t.Error("got no error from Reload of a holder without a file")
	}
	if old := h.Swap(b); old != a || h.Model() != b {
		t.Errorf("Swap returned %p and left %p, want %p and %p", old, h.Model(), a, b)
	}
}
