package explain

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
)

// Store groups escalations into incidents and says when each is due for
// an explanation. Its state is kept per home partition and can be
// checkpointed, restored and revoked partition by partition.
//
// A Store is not safe for concurrent use: one goroutine (the loop's) calls
// all its methods. The incidents Due returns are copies, free to be read
// elsewhere while the Store goes on.
type Store struct {
	cfg IncidentConfig
	red *Redactor // numbers placeholders as escalations arrive; may be nil

	open    map[string]*Incident // by id
	index   map[string][]string  // "e:" entity, or a correlation key → ids of incidents with it
	applied map[Partition]int64  // highest offset applied per input partition
	dirty   map[string]Partition // ids changed since the last Checkpoint, with their home
	gen     uint64

	opened int // incidents opened since NewStore, for tests and metrics
}

// NewStore returns an empty store. cfg must have passed Config.Validate;
// red, when not nil, numbers each incident's placeholders as its
// escalations arrive (Explainer does so otherwise, per explanation).
func NewStore(cfg IncidentConfig, red *Redactor) *Store {
	return &Store{
		cfg:     cfg,
		red:     red,
		open:    make(map[string]*Incident),
		index:   make(map[string][]string),
		applied: make(map[Partition]int64),
		dirty:   make(map[string]Partition),
	}
}

// Len returns the number of incidents held, open or closed.
func (s *Store) Len() int { return len(s.open) }

// Opened returns the number of incidents opened since NewStore.
func (s *Store) Opened() int { return s.opened }

// Get returns a copy of the incident with id, or nil.
func (s *Store) Get(id string) *Incident {
	if inc := s.open[id]; inc != nil {
		return inc.clone()
	}
	return nil
}

// Add puts the escalation read at ref into an incident at processing
// time now, and returns the incident's id and whether Add opened it. An
// escalation whose offset is at or below one already applied for its
// partition is a replay: Add ignores it and returns "" and false.
//
// The escalation joins, in this order of preference: an open incident
// with its entity whose event times are within Window of its own; an open
// incident, with room for another entity, that saw one of its correlation
// keys (a metric that moved the same way, or its class) within Window of
// it. Among several, the one that ended last wins. Otherwise it opens an
// incident whose id derives from ref.
func (s *Store) Add(
	ref record.EscalationRef, esc *record.Escalation, now time.Time,
) (string, bool) {
	p := Partition{ref.Topic, ref.Partition}
	if last, ok := s.applied[p]; ok && ref.Offset <= last {
		return "", false
	}
	s.applied[p] = ref.Offset

	en := &esc.Enriched
	t := en.Event.Time
	keys := keysOf(en, s.cfg.CorrelateMetrics, s.cfg.CorrelateClasses)

	inc := s.find(en.Event.Entity, t, keys)
	opened := inc == nil
	if opened {
		inc = &Incident{ID: IncidentID(ref.Topic, ref.Partition, ref.Offset), Home: p, gen: s.next()}
		s.open[inc.ID] = inc
		s.opened++
	}
	if !slices.Contains(inc.Entities, en.Event.Entity) {
		s.indexAdd("e:"+en.Event.Entity, inc.ID)
	}
	for _, k := range keys {
		if _, ok := inc.Keys[k]; !ok {
			s.indexAdd(k, inc.ID)
		}
	}
	inc.add(&s.cfg, ref, esc, now, keys, s.red)
	s.dirty[inc.ID] = inc.Home
	return inc.ID, opened
}

func (s *Store) next() uint64 {
	s.gen++
	return s.gen
}

// find returns the open incident the escalation joins, or nil.
func (s *Store) find(entity string, t time.Time, keys []string) *Incident {
	var best *Incident
	better := func(inc *Incident) {
		if best == nil || inc.End.After(best.End) ||
			inc.End.Equal(best.End) && inc.ID < best.ID {
			best = inc
		}
	}
	for _, id := range s.index["e:"+entity] {
		if inc := s.open[id]; inc != nil && !inc.Closed && inc.within(t, s.cfg.Window) {
			better(inc)
		}
	}
	if best != nil {
		return best
	}
	for _, k := range keys {
		for _, id := range s.index[k] {
			inc := s.open[id]
			if inc == nil || inc.Closed || len(inc.Entities) >= s.cfg.MaxEntities ||
				!inc.within(t, s.cfg.Window) || !inc.sharesKey(keys, t, s.cfg.Window) {
				continue
			}
			better(inc)
		}
	}
	return best
}

func (s *Store) indexAdd(key, id string) { s.index[key] = append(s.index[key], id) }

func (s *Store) indexDrop(key, id string) {
	ids := slices.DeleteFunc(s.index[key], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.index, key)
	} else {
		s.index[key] = ids
	}
}

// indexAll puts inc in the index.
func (s *Store) indexAll(inc *Incident) {
	for _, e := range inc.Entities {
		s.indexAdd("e:"+e, inc.ID)
	}
	for k := range inc.Keys {
		s.indexAdd(k, inc.ID)
	}
}

// Due closes the incidents that went quiet, drops closed incidents with
// nothing left to explain, and returns copies of at most max incidents
// due for an explanation at processing time now, oldest first. An
// incident is due when it has escalations not yet explained, is not
// already handed out, and either was never explained and its first
// escalation is Debounce old, or was explained UpdateInterval ago.
//
// Each incident returned is handed out until Done or Release is called
// with its copy; Due does not return it again before.
func (s *Store) Due(now time.Time, max int) []*Incident {
	var due []*Incident
	for id, inc := range s.open {
		if !inc.Closed && now.Sub(inc.LastSeen) >= s.cfg.Window {
			inc.Closed = true
			s.dirty[id] = inc.Home
		}
		switch {
		case inc.inFlight:
		case inc.Count == inc.Explained:
			if inc.Closed {
				s.drop(inc)
				s.dirty[id] = inc.Home
			}
		case inc.Rounds == 0 && !now.Before(inc.FirstSeen.Add(s.cfg.Debounce)),
			inc.Rounds > 0 && !now.Before(inc.ExplainedAt.Add(s.cfg.UpdateInterval)):
			due = append(due, inc)
		}
	}
	slices.SortFunc(due, func(a, b *Incident) int {
		if c := a.FirstSeen.Compare(b.FirstSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if len(due) > max {
		due = due[:max]
	}
	out := make([]*Incident, len(due))
	for i, inc := range due {
		inc.inFlight = true
		out[i] = inc.clone()
	}
	return out
}

// NextDue returns the earliest processing time at which Due will return
// an incident not handed out now, and false when no incident waits to be
// explained. A loop can tick then rather than at its next interval.
func (s *Store) NextDue() (time.Time, bool) {
	var next time.Time
	found := false
	for _, inc := range s.open {
		if inc.inFlight || inc.Count == inc.Explained {
			continue
		}
		at := inc.FirstSeen.Add(s.cfg.Debounce)
		if inc.Rounds > 0 {
			at = inc.ExplainedAt.Add(s.cfg.UpdateInterval)
		}
		if !found || at.Before(next) {
			next, found = at, true
		}
	}
	return next, found
}

// Done records that the copy c, from Due, was explained at processing
// time now. It returns false, and changes nothing, when the incident is no
// longer held as c was handed out (its partition was revoked since), in
// which case the explanation must be dropped.
func (s *Store) Done(c *Incident, now time.Time) bool {
	if !s.holds(c) {
		return false
	}
	inc := s.open[c.ID]
	inc.inFlight = false
	inc.Explained = c.covered
	inc.ExplainedAt = now
	inc.Rounds++
	s.dirty[inc.ID] = inc.Home
	return true
}

// holds reports whether c, from Due, is still handed out: Done would
// accept it.
func (s *Store) holds(c *Incident) bool {
	inc := s.open[c.ID]
	return inc != nil && inc.gen == c.gen && inc.inFlight
}

// Release hands the copy c back unexplained: the incident is due again at
// the next Due.
func (s *Store) Release(c *Incident) {
	if inc := s.open[c.ID]; inc != nil && inc.gen == c.gen {
		inc.inFlight = false
	}
}

// drop forgets inc.
func (s *Store) drop(inc *Incident) {
	delete(s.open, inc.ID)
	for _, e := range inc.Entities {
		s.indexDrop("e:"+e, inc.ID)
	}
	for k := range inc.Keys {
		s.indexDrop(k, inc.ID)
	}
}

// stateVersion is the first byte of every state value, so that a later
// layout can be told apart.
const stateVersion = '1'

// Checkpoint returns the incidents changed since the last call, one entry
// each, in id order: the JSON state of the incident, keyed by its id, in
// its home partition, or a nil value for an incident that was dropped. The
// caller writes them in the same transaction as the outputs produced since
// the last call. An incident that fails to encode (which finite floats and
// event times within years 1 to 9999 rule out) is left out and stays
// changed, and the error names it.
func (s *Store) Checkpoint() ([]pipeline.StateEntry, error) {
	if len(s.dirty) == 0 {
		return nil, nil
	}
	out := make([]pipeline.StateEntry, 0, len(s.dirty))
	var errs []error
	for _, id := range sortedKeys(s.dirty) {
		p := s.dirty[id]
		e := pipeline.StateEntry{Topic: p.Topic, Partition: p.Partition, Key: id}
		if inc := s.open[id]; inc != nil {
			b, err := json.Marshal(inc)
			if err != nil {
				errs = append(errs, fmt.Errorf("unable to encode incident %s: %w", id, err))
				continue
			}
			e.Value = append([]byte{stateVersion}, b...)
		}
		out = append(out, e)
		delete(s.dirty, id)
	}
	return out, errors.Join(errs...)
}

// Restore replaces the state of one input partition with entries, as
// Checkpoint wrote them, in the order written: a later entry for a key
// replaces an earlier one and a nil value deletes it. The partition's
// incidents held before, and its changes not yet checkpointed, are
// forgotten, as is the highest offset applied for it, so that the records
// after its committed offset are added again. An entry that does not
// decode is skipped and named in an error wrapping ErrBadState, returned
// after the others are loaded.
func (s *Store) Restore(topic string, partition int32, entries iter.Seq[pipeline.StateEntry],
) error {
	s.Revoke(topic, partition)
	p := Partition{topic, partition}

	last := make(map[string][]byte)
	for e := range entries {
		if e.Value == nil {
			delete(last, e.Key)
		} else {
			last[e.Key] = e.Value
		}
	}
	var errs []error
	for _, key := range sortedKeys(last) {
		inc, err := decodeIncident(key, last[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s of %s/%d: %w", ErrBadState, key, topic,
				partition, err))
			continue
		}
		inc.Home = p
		if old := s.open[inc.ID]; old != nil {
			s.drop(old) // held for another partition; the restored one wins
		}
		inc.gen = s.next()
		s.open[inc.ID] = inc
		s.indexAll(inc)
	}
	return errors.Join(errs...)
}

// decodeIncident decodes one state value.
func decodeIncident(key string, v []byte) (*Incident, error) {
	if len(v) == 0 || v[0] != stateVersion {
		return nil, errors.New("unknown state version")
	}
	inc := new(Incident)
	if err := json.Unmarshal(v[1:], inc); err != nil {
		return nil, err
	}
	if inc.ID != key {
		return nil, fmt.Errorf("key holds incident %q", inc.ID)
	}
	return inc, nil
}

// Revoke forgets the incidents whose home is the partition, and the
// changes not yet checkpointed for them: the partition's state now
// belongs to another worker. Explanations of them still in progress are
// dropped by Done.
func (s *Store) Revoke(topic string, partition int32) {
	p := Partition{topic, partition}
	for _, inc := range s.open {
		if inc.Home == p {
			s.drop(inc)
		}
	}
	for id, home := range s.dirty {
		if home == p {
			delete(s.dirty, id)
		}
	}
	delete(s.applied, p)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
