package detect

import (
	"time"
	"unsafe"
)

// pageSize is the number of entries allocated together. Entries never move
// once allocated, so a *Detector stays valid until its series is evicted
// or deleted.
const pageSize = 1024

// mapEntryBytes bounds what the index map spends per series besides the
// key's bytes: the key's string header, the slot index, the map's control
// bytes and its spare slots just after it grows.
const mapEntryBytes = 64

// entry is one series of a Store, linked into its recency list.
type entry struct {
	key        string
	prev, next int32 // neighbours in recency order; -1 at either end
	det        Detector
}

// Store holds one Detector per series key, at most a fixed number of them.
// A series is created on first sight; when the store is full, the least
// recently used series is evicted to make room, and counted. All series
// share one configuration. A Store is not safe for concurrent use: the
// worker keeps one per goroutine that owns a set of partitions.
type Store struct {
	cfg       Config
	max       int
	index     map[string]int32
	pages     [][]entry
	free      []int32 // slots of deleted series, reused first
	used      int32   // slots handed out so far
	head      int32   // most recently used; -1 when empty
	tail      int32   // least recently used; -1 when empty
	evictions uint64
}

// NewStore returns an empty store of detectors with cfg, which must be
// valid, holding at most maxSeries series (at least 1).
func NewStore(cfg Config, maxSeries int) *Store {
	maxSeries = max(maxSeries, 1)
	return &Store{cfg: cfg, max: maxSeries, head: -1, tail: -1,
		index: make(map[string]int32, min(maxSeries, 1<<16))}
}

// SeriesBytes is an estimate of the memory one series takes in a Store
// whose keys are keyLen bytes long: the detector, its links and key, and
// the index entry.
func SeriesBytes(keyLen int) int {
	return int(unsafe.Sizeof(entry{})) + keyLen + mapEntryBytes
}

// MaxSeriesFor returns how many series of keys keyLen bytes long fit in
// bytes of memory, at least 1.
func MaxSeriesFor(bytes int64, keyLen int) int {
	return int(max(bytes/int64(SeriesBytes(keyLen)), 1))
}

// Len returns the number of series held.
func (s *Store) Len() int { return len(s.index) }

// Cap returns the largest number of series held at once.
func (s *Store) Cap() int { return s.max }

// Evictions returns the number of series evicted to make room so far.
func (s *Store) Evictions() uint64 { return s.evictions }

// Config returns the configuration shared by every series.
func (s *Store) Config() Config { return s.cfg }

func (s *Store) at(i int32) *entry { return &s.pages[i/pageSize][i%pageSize] }

// Get returns the detector of key and marks it most recently used, or
// false if the store holds no such series.
func (s *Store) Get(key string) (*Detector, bool) {
	i, ok := s.index[key]
	if !ok {
		return nil, false
	}
	s.touch(i)
	return &s.at(i).det, true
}

// Detector returns the detector of key, marked most recently used,
// creating it (and evicting the least recently used series if the store
// is full) when the store holds none; created says which. The pointer is
// valid until the series is evicted or deleted.
func (s *Store) Detector(key string) (d *Detector, created bool) {
	if i, ok := s.index[key]; ok {
		s.touch(i)
		return &s.at(i).det, false
	}
	var i int32
	switch {
	case len(s.index) >= s.max:
		i = s.tail
		s.unlink(i)
		delete(s.index, s.at(i).key)
		s.evictions++
	case len(s.free) > 0:
		i = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	default:
		i = s.used
		s.used++
		if int(i/pageSize) == len(s.pages) {
			// The last page holds only what the bound leaves.
			s.pages = append(s.pages, make([]entry, min(pageSize, s.max-int(i))))
		}
	}
	e := s.at(i)
	e.key = key
	e.det.init(&s.cfg)
	s.index[key] = i
	s.pushFront(i)
	return &e.det, true
}

// Update feeds one point to the series of key, creating it if needed, and
// returns the detector's result.
func (s *Store) Update(key string, t time.Time, v float64) Result {
	d, _ := s.Detector(key)
	return d.Update(t, v)
}

// Delete removes the series of key, reporting whether it was held. The
// worker deletes the series of a partition it no longer owns.
func (s *Store) Delete(key string) bool {
	i, ok := s.index[key]
	if !ok {
		return false
	}
	s.unlink(i)
	delete(s.index, key)
	e := s.at(i)
	e.key = ""
	s.free = append(s.free, i)
	return true
}

// Restore sets the series of key, creating it if needed, to a snapshot
// written by Detector.MarshalBinary. On error a series it created is
// removed again and an existing one is left unchanged.
func (s *Store) Restore(key string, snapshot []byte) error {
	d, created := s.Detector(key)
	if err := d.UnmarshalBinary(snapshot); err != nil {
		if created {
			s.Delete(key)
		}
		return err
	}
	return nil
}

// Range calls fn for every series from the most to the least recently
// used, until fn returns false. fn must not add or remove series, and
// Range does not change their recency.
func (s *Store) Range(fn func(key string, d *Detector) bool) {
	for i := s.head; i >= 0; {
		e := s.at(i)
		if !fn(e.key, &e.det) {
			return
		}
		i = e.next
	}
}

func (s *Store) touch(i int32) {
	if s.head == i {
		return
	}
	s.unlink(i)
	s.pushFront(i)
}

func (s *Store) unlink(i int32) {
	e := s.at(i)
	if e.prev >= 0 {
		s.at(e.prev).next = e.next
	} else {
		s.head = e.next
	}
	if e.next >= 0 {
		s.at(e.next).prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (s *Store) pushFront(i int32) {
	e := s.at(i)
	e.prev, e.next = -1, s.head
	if s.head >= 0 {
		s.at(s.head).prev = i
	}
	s.head = i
	if s.tail < 0 {
		s.tail = i
	}
}
