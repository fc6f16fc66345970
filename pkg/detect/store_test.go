package detect

import (
	"fmt"
	"runtime"
	"testing"
)

func TestStore(t *testing.T) {
	t.Run("a series is created on first sight and found again", func(t *testing.T) {
		s := NewStore(DefaultConfig(), 3)
		d, created := s.Detector("a")
		if !created {
			t.Fatal("got created false for a new series, want true")
		}
		d2, created := s.Detector("a")
		if created || d2 != d {
			t.Errorf("got created %v and another detector, want the same one", created)
		}
		if s.Len() != 1 {
			t.Errorf("got %d series, want 1", s.Len())
		}
	})

	t.Run("the least recently used series is evicted and counted", func(t *testing.T) {
		s := NewStore(DefaultConfig(), 3)
		s.Detector("a")
		s.Detector("b")
		s.Detector("c")
		s.Get("a") // b is now the least recently used
		s.Detector("d")
		if _, ok := s.Get("b"); ok {
			t.Errorf("got b still held, want it evicted")
		}
		for _, k := range []string{"a", "c", "d"} {
			if _, ok := s.Get(k); !ok {
				t.Errorf("got %s evicted, want it held", k)
			}
		}
		if s.Len() != 3 || s.Evictions() != 1 {
			t.Errorf("got %d series and %d evictions, want 3 and 1", s.Len(), s.Evictions())
		}
	})

	t.Run("range walks from the most to the least recently used", func(t *testing.T) {
		s := NewStore(DefaultConfig(), 10)
		for _, k := range []string{"a", "b", "c"} {
			s.Detector(k)
		}
		s.Get("a")
		var got []string
		s.Range(func(k string, _ *Detector) bool { got = append(got, k); return true })
		if fmt.Sprint(got) != "[a c b]" {
			t.Errorf("got %v, want [a c b]", got)
		}
	})

	t.Run("a deleted series frees its slot", func(t *testing.T) {
		s := NewStore(DefaultConfig(), 2)
		s.Detector("a")
		s.Detector("b")
		if !s.Delete("a") || s.Delete("a") {
			t.Errorf("got the wrong answers deleting a twice, want true then false")
		}
		s.Detector("c")
		if s.Len() != 2 || s.Evictions() != 0 {
			t.Errorf("got %d series and %d evictions, want 2 and 0", s.Len(), s.Evictions())
		}
	})

	t.Run("a restore continues the snapshot and a bad one leaves nothing", func(t *testing.T) {
		src := NewStore(DefaultConfig(), 2)
		ns := noisy(t, 400, 10)
		for i := range ns.times {
			src.Update("a", ns.times[i], ns.values[i])
		}
		d, _ := src.Get("a")
		snap, _ := d.MarshalBinary()

		dst := NewStore(DefaultConfig(), 2)
		if err := dst.Restore("a", snap); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		if r, _ := dst.Get("a"); r.Points() != 400 {
			t.Errorf("got %d points restored, want 400", r.Points())
		}
		if err := dst.Restore("b", snap[:10]); err == nil {
			t.Errorf("got no error for a truncated snapshot, want one")
		}
		if _, ok := dst.Get("b"); ok {
			t.Errorf("got series b held after a failed restore, want it absent")
		}
	})
}

func TestStoreMillionSeriesStayWithinTheBound(t *testing.T) {
	const (
		bound    = 64 << 20 // bytes
		distinct = 1_000_000
	)
	key := func(i int) string { return fmt.Sprintf("entity-%07d\x00latency", i) }
	keyLen := len(key(0))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	s := NewStore(DefaultConfig(), MaxSeriesFor(bound, keyLen))
	ns := noisy(t, 3, 11)
	for i := range distinct {
		s.Update(key(i), ns.times[i%3], ns.values[i%3])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)

	used := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if used > bound {
		t.Errorf("got %d MiB of heap for the store, want at most %d MiB", used>>20, bound>>20)
	}
	if want := uint64(distinct - s.Cap()); s.Evictions() != want {
		t.Errorf("got %d evictions, want %d", s.Evictions(), want)
	}
	t.Logf("%d series held of %d seen, %d bytes of heap each (estimate %d)",
		s.Len(), distinct, used/int64(s.Len()), SeriesBytes(keyLen))
}
