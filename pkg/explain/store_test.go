package explain

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
)

// storeRun is a store with a processing clock and offsets per partition.
type storeRun struct {
	t   *testing.T
	s   *Store
	cfg IncidentConfig
	f   feeder
	now time.Time
}

func newStoreRun(t *testing.T, cfg IncidentConfig) *storeRun {
	t.Helper()
	red, _ := NewRedactor(RedactConfig{})
	return &storeRun{t: t, s: NewStore(cfg, red), cfg: cfg, now: time.Unix(1000, 0)}
}

// add adds o on partition 0 and returns the incident id.
func (r *storeRun) add(o escOpts) string {
	r.t.Helper()
	return r.addOn(0, o)
}

func (r *storeRun) addOn(p int32, o escOpts) string {
	r.t.Helper()
	e := escalation(o)
	id, _ := r.s.Add(r.f.ref(p, e), e, r.now)
	if id == "" {
		r.t.Fatalf("escalation %+v was taken for a replay", o)
	}
	return id
}

func TestStoreGroupsEscalations(t *testing.T) {
	cfg := DefaultConfig().Incidents

	t.Run("one entity within the window is one incident", func(t *testing.T) {
		r := newStoreRun(t, cfg)
		a := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
		b := r.add(escOpts{entity: "checkout", at: t0.Add(4 * time.Minute)})
		c := r.add(escOpts{entity: "checkout", at: t0.Add(8 * time.Minute), metric: "error_rate"})
		if a != b || b != c {
			t.Errorf("got incidents %s, %s, %s, want one", a, b, c)
		}
	})

	t.Run("one entity past the window opens a new incident", func(t *testing.T) {
		r := newStoreRun(t, cfg)
		a := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
		b := r.add(escOpts{entity: "checkout", at: t0.Add(6 * time.Minute), metric: "latency_ms"})
		if a == b {
			t.Errorf("got one incident %s for escalations 6m apart, want two", a)
		}
	})

	t.Run("entities whose metric moved the same way join", func(t *testing.T) {
		r := newStoreRun(t, cfg)
		a := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
		b := r.addOn(1, escOpts{entity: "payments", at: t0.Add(30 * time.Second),
			metric: "latency_ms"})
		if a != b {
			t.Errorf("got incidents %s and %s, want one", a, b)
		}
		if got := r.s.Get(a).Entities; !slices.Equal(got, []string{"checkout", "payments"}) {
			t.Errorf("got entities %v, want [checkout payments]", got)
		}
	})

	t.Run("entities whose metric moved the other way do not join", func(t *testing.T) {
		r := newStoreRun(t, cfg)
		a := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
		b := r.add(escOpts{entity: "payments", at: t0.Add(30 * time.Second),
			metric: "latency_ms", dir: record.DirectionDown, value: 10})
		if a == b {
			t.Errorf("got one incident %s, want two", a)
		}
	})

	t.Run("entities of one class join", func(t *testing.T) {
		r := newStoreRun(t, cfg)
		a := r.add(escOpts{entity: "checkout", at: t0, label: "fraud"})
		b := r.add(escOpts{entity: "ledger", at: t0.Add(time.Minute), label: "fraud"})
		c := r.add(escOpts{entity: "search", at: t0.Add(time.Minute), label: "other"})
		if a != b || a == c {
			t.Errorf("got incidents %s, %s, %s, want the first two together only", a, b, c)
		}
	})

	t.Run("correlation can be turned off", func(t *testing.T) {
		off := cfg
		off.CorrelateMetrics, off.CorrelateClasses = false, false
		r := newStoreRun(t, off)
		a := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms", label: "x"})
		b := r.add(escOpts{entity: "payments", at: t0, metric: "latency_ms", label: "x"})
		if a == b {
			t.Errorf("got one incident %s, want two", a)
		}
	})

	t.Run("an incident takes at most MaxEntities entities", func(t *testing.T) {
		small := cfg
		small.MaxEntities = 2
		r := newStoreRun(t, small)
		a := r.add(escOpts{entity: "a", at: t0, metric: "latency_ms"})
		b := r.add(escOpts{entity: "b", at: t0, metric: "latency_ms"})
		c := r.add(escOpts{entity: "c", at: t0, metric: "latency_ms"})
		if a != b || c == a {
			t.Errorf("got incidents %s, %s, %s, want a and b together and c apart", a, b, c)
		}
	})

	t.Run("a replayed offset is ignored", func(t *testing.T) {
		r := newStoreRun(t, cfg)
		e := escalation(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
		ref := r.f.ref(0, e)
		r.s.Add(ref, e, r.now)
		if id, _ := r.s.Add(ref, e, r.now); id != "" {
			t.Errorf("got incident %q for a replay, want none", id)
		}
		if got := r.s.Get(IncidentID("escalations", 0, 0)).Count; got != 1 {
			t.Errorf("got count %d, want 1", got)
		}
	})
}

func TestIncidentIDIsStable(t *testing.T) {
	r := newStoreRun(t, DefaultConfig().Incidents)
	id := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
	if want := IncidentID("escalations", 0, 0); id != want {
		t.Errorf("got id %s, want %s", id, want)
	}
	if IncidentID("escalations", 0, 1) == id || IncidentID("escalations", 1, 0) == id {
		t.Error("got the same id for another offset or partition")
	}
}

func TestStoreDue(t *testing.T) {
	cfg := DefaultConfig().Incidents
	cfg.Debounce = 10 * time.Second
	cfg.UpdateInterval = time.Minute

	r := newStoreRun(t, cfg)
	start := r.now
	id := r.add(escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
	r.now = start.Add(3 * time.Second)
	r.add(escOpts{entity: "checkout", at: t0.Add(3 * time.Second), metric: "latency_ms"})

	if due := r.s.Due(start.Add(9*time.Second), 10); len(due) != 0 {
		t.Fatalf("got %d due before the debounce, want 0", len(due))
	}
	due := r.s.Due(start.Add(10*time.Second), 10)
	if len(due) != 1 || due[0].ID != id || due[0].Covered() != 2 {
		t.Fatalf("got %v due at the debounce, want %s covering 2", due, id)
	}
	if again := r.s.Due(start.Add(11*time.Second), 10); len(again) != 0 {
		t.Fatalf("got %d due while handed out, want 0", len(again))
	}

	// A new escalation while the first explanation is being written.
	r.now = start.Add(12 * time.Second)
	r.add(escOpts{entity: "checkout", at: t0.Add(12 * time.Second), metric: "latency_ms"})
	if !r.s.Done(due[0], start.Add(13*time.Second)) {
		t.Fatal("Done refused the incident handed out")
	}

	if again := r.s.Due(start.Add(72*time.Second), 10); len(again) != 0 {
		t.Fatalf("got %d due before the update interval, want 0", len(again))
	}
	upd := r.s.Due(start.Add(73*time.Second), 10)
	if len(upd) != 1 || !upd[0].Update() || upd[0].Covered() != 3 {
		t.Fatalf("got %v at the update interval, want one update covering 3", upd)
	}
	r.s.Done(upd[0], start.Add(74*time.Second))

	t.Run("a quiet, explained incident is dropped", func(t *testing.T) {
		r.s.Due(start.Add(12*time.Second+cfg.Window), 10)
		if r.s.Len() != 0 {
			t.Errorf("got %d incidents held after the window, want 0", r.s.Len())
		}
		entries, err := r.s.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Key != id || entries[0].Value != nil {
			t.Errorf("got checkpoint %v, want a deletion of %s", entries, id)
		}
	})
}

func TestStoreDueLimit(t *testing.T) {
	r := newStoreRun(t, DefaultConfig().Incidents)
	for i := range 5 {
		r.add(escOpts{entity: string(rune('a' + i)), at: t0.Add(time.Duration(i) * time.Hour)})
	}
	due := r.s.Due(r.now.Add(time.Hour), 3)
	if len(due) != 3 {
		t.Fatalf("got %d due, want the limit 3", len(due))
	}
	r.s.Release(due[0])
	if again := r.s.Due(r.now.Add(time.Hour), 10); len(again) != 3 {
		t.Errorf("got %d due after one release, want 3 (1 released and 2 left)", len(again))
	}
}

func TestStoreCheckpointRestore(t *testing.T) {
	cfg := DefaultConfig().Incidents
	r := newStoreRun(t, cfg)
	a := r.addOn(0, escOpts{entity: "checkout", at: t0, metric: "latency_ms",
		text: "mail me at jane@example.com"})
	r.addOn(1, escOpts{entity: "payments", at: t0.Add(time.Second), metric: "latency_ms"})
	b := r.addOn(1, escOpts{entity: "search", at: t0, label: "slow"})

	entries, err := r.s.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	byPartition := map[int32][]pipeline.StateEntry{}
	for _, e := range entries {
		byPartition[e.Partition] = append(byPartition[e.Partition], e)
	}
	if len(byPartition[0]) != 1 || byPartition[0][0].Key != a {
		t.Fatalf("got partition 0 state %v, want incident %s (payments joined it)",
			byPartition[0], a)
	}
	if len(byPartition[1]) != 1 || byPartition[1][0].Key != b {
		t.Fatalf("got partition 1 state %v, want incident %s", byPartition[1], b)
	}
	if again, _ := r.s.Checkpoint(); len(again) != 0 {
		t.Errorf("got %d entries from a second checkpoint, want 0", len(again))
	}

	fresh := newStoreRun(t, cfg)
	for p, es := range byPartition {
		if err := fresh.s.Restore("escalations", p, slices.Values(es)); err != nil {
			t.Fatalf("Restore(%d): %v", p, err)
		}
	}
	for _, id := range []string{a, b} {
		got, want := fresh.s.Get(id), r.s.Get(id)
		if got == nil {
			t.Fatalf("incident %s not restored", id)
		}
		if got.Count != want.Count || !slices.Equal(got.Entities, want.Entities) ||
			!got.Start.Equal(want.Start) || !slices.Equal(got.Refs, want.Refs) ||
			!maps.Equal(got.Placeholders.Values, want.Placeholders.Values) {
			t.Errorf("restored %s: got %+v, want %+v", id, got, want)
		}
	}
	if ph := fresh.s.Get(a).Placeholders.Values["jane@example.com"]; ph != "<EMAIL_1>" {
		t.Errorf("got placeholder %q for the email, want <EMAIL_1>", ph)
	}

	t.Run("a restored incident is due as it was", func(t *testing.T) {
		due := fresh.s.Due(r.now.Add(cfg.Debounce), 10)
		if len(due) != 2 {
			t.Errorf("got %d due, want 2", len(due))
		}
	})

	t.Run("a restored escalation of the same entity joins the same incident", func(t *testing.T) {
		fresh.f.offsets = map[int32]int64{0: 5}
		if id := fresh.addOn(0, escOpts{entity: "checkout", at: t0.Add(time.Minute)}); id != a {
			t.Errorf("got incident %s, want %s", id, a)
		}
	})

	t.Run("a later deletion in the entries wins", func(t *testing.T) {
		s := newStoreRun(t, cfg)
		es := append(slices.Clone(byPartition[0]),
			pipeline.StateEntry{Topic: "escalations", Partition: 0, Key: a})
		if err := s.s.Restore("escalations", 0, slices.Values(es)); err != nil {
			t.Fatal(err)
		}
		if s.s.Len() != 0 {
			t.Errorf("got %d incidents, want 0", s.s.Len())
		}
	})

	t.Run("a bad entry is skipped and named", func(t *testing.T) {
		s := newStoreRun(t, cfg)
		es := append(slices.Clone(byPartition[1]), pipeline.StateEntry{
			Topic: "escalations", Partition: 1, Key: "inc-bad", Value: []byte("1{")})
		err := s.s.Restore("escalations", 1, slices.Values(es))
		if err == nil || s.s.Get(b) == nil {
			t.Errorf("got error %v and incident %v, want an error and %s restored", err,
				s.s.Get(b), b)
		}
	})
}

func TestStoreRevokeAndRestoreReplace(t *testing.T) {
	cfg := DefaultConfig().Incidents
	r := newStoreRun(t, cfg)
	a := r.addOn(0, escOpts{entity: "checkout", at: t0, metric: "latency_ms"})
	b := r.addOn(1, escOpts{entity: "search", at: t0, label: "slow"})
	due := r.s.Due(r.now.Add(cfg.Debounce), 10)

	r.s.Revoke("escalations", 0)
	if r.s.Get(a) != nil || r.s.Get(b) == nil {
		t.Fatalf("after revoking partition 0: got %v and %v, want only %s", r.s.Get(a),
			r.s.Get(b), b)
	}
	for _, inc := range due {
		if got, want := r.s.Done(inc, r.now), inc.ID == b; got != want {
			t.Errorf("Done(%s): got %v, want %v", inc.ID, got, want)
		}
	}
	entries, _ := r.s.Checkpoint()
	for _, e := range entries {
		if e.Partition == 0 {
			t.Errorf("got checkpoint entry %s of a revoked partition", e.Key)
		}
	}

	t.Run("restore replaces what was held and resets replays", func(t *testing.T) {
		r.now = r.now.Add(time.Second)
		r.f.offsets[1] = 1 // the same offset as b's second escalation would have
		r.addOn(1, escOpts{entity: "search", at: t0.Add(time.Second), label: "slow"})
		if err := r.s.Restore("escalations", 1, slices.Values(entries)); err != nil {
			t.Fatal(err)
		}
		if got := r.s.Get(b).Count; got != 1 {
			t.Fatalf("got count %d after restore, want the checkpointed 1", got)
		}
		r.f.offsets[1] = 1
		r.addOn(1, escOpts{entity: "search", at: t0.Add(time.Second), label: "slow"})
		if got := r.s.Get(b).Count; got != 2 {
			t.Errorf("got count %d after the replay, want 2", got)
		}
	})
}
