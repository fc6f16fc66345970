package explain

import (
	"context"
	"iter"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
)

// Service runs the explainer for a consume-produce loop: the loop adds
// escalations as it reads them and calls Tick as time passes; Tick hands
// the due incidents to the Explainer, each on its own goroutine, waits up
// to TickWait for them, and emits the explanations that are ready. Its
// state is the Store's, checkpointed, restored and revoked per input
// partition.
//
// Add, Tick, Checkpoint, Restore and Revoke must be called from one
// goroutine (the loop's). Close may be called from any, once, after the
// last Tick.
type Service struct {
	store *Store
	exp   *Explainer
	cfg   IncidentConfig
	m     *Metrics
	log   *zap.Logger

	ctx    context.Context // of the background explanations; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per background explanation

	running map[string]running // by incident id; the loop goroutine's
	waiting []result           // explained, not yet emitted; the loop goroutine's

	mu    sync.Mutex    // guards ready
	ready []result      // finished by background explanations, in order
	wake  chan struct{} // capacity 1; signalled when a result is ready
}

// running is an explanation in the background.
type running struct {
	gen    uint64 // of the copy being explained
	home   Partition
	cancel context.CancelFunc
}

type result struct {
	inc *Incident // the copy Due returned
	x   record.Explanation
}

// NewService returns a service over an empty store. exp's redactor
// numbers the placeholders of each incident as escalations arrive.
func NewService(cfg Config, exp *Explainer) *Service {
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{
		store:   NewStore(cfg.Incidents, exp.Redactor()),
		exp:     exp,
		cfg:     cfg.Incidents,
		m:       exp.m,
		log:     exp.log,
		ctx:     ctx,
		cancel:  cancel,
		running: make(map[string]running),
		wake:    make(chan struct{}, 1),
	}
}

// Store returns the service's store, for inspection from the Service's
// goroutine.
func (s *Service) Store() *Store { return s.store }

// Add puts one escalation, read at ref, into its incident at processing
// time now. Replays of escalations already added are ignored.
func (s *Service) Add(ref record.EscalationRef, esc *record.Escalation, now time.Time) {
	if _, opened := s.store.Add(ref, esc, now); opened {
		s.m.Incidents.Inc()
	}
	s.m.OpenIncidents.Set(float64(s.store.Len()))
}

// NextTick returns when Tick next has work: now when explanations wait to
// be emitted, else when the next incident becomes due; false when there is
// none. A loop that ticks then, rather than at a fixed interval, explains
// an incident as soon as its debounce ends.
func (s *Service) NextTick(now time.Time) (time.Time, bool) {
	s.mu.Lock()
	ready := len(s.ready) > 0
	s.mu.Unlock()
	if ready || len(s.waiting) > 0 {
		return now, true
	}
	return s.store.NextDue()
}

// Tick emits the explanations that are ready, starts explaining the
// incidents due at processing time now, waits up to TickWait (or until
// ctx ends) for the explanations still running, and emits those that
// finished. emit is called on Tick's goroutine, once per explanation, in
// the order the explanations finished; an explanation counts as written
// once emit returns nil. When emit fails, Tick returns the error at once,
// and that explanation and the ones after it are offered again at the
// next Tick. Explanations of incidents revoked or restored since they
// were handed out are dropped.
func (s *Service) Tick(
	ctx context.Context, now time.Time, emit func(record.Explanation) error,
) error {
	if err := s.flush(emit); err != nil {
		return err
	}
	if room := s.cfg.MaxInFlight - len(s.running); room > 0 {
		for _, inc := range s.store.Due(now, room) {
			s.start(inc)
		}
	}
	s.await(ctx)
	err := s.flush(emit)
	s.m.OpenIncidents.Set(float64(s.store.Len()))
	return err
}

// await waits until every running explanation has finished, TickWait has
// passed or ctx ends.
func (s *Service) await(ctx context.Context) {
	if len(s.running) == 0 || s.cfg.TickWait <= 0 {
		return
	}
	t := time.NewTimer(s.cfg.TickWait)
	defer t.Stop()
	for !s.allReady() {
		select {
		case <-s.wake:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// allReady reports whether every running explanation has a result.
func (s *Service) allReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.ready {
		if cur, ok := s.running[r.inc.ID]; ok && cur.gen == r.inc.gen {
			n++
		}
	}
	return n == len(s.running)
}

// flush emits the results that are ready, in order.
func (s *Service) flush(emit func(record.Explanation) error) error {
	s.mu.Lock()
	s.waiting = append(s.waiting, s.ready...)
	clear(s.ready)
	s.ready = s.ready[:0]
	s.mu.Unlock()

	for len(s.waiting) > 0 {
		r := s.waiting[0]
		if cur, ok := s.running[r.inc.ID]; ok && cur.gen == r.inc.gen {
			cur.cancel()
			delete(s.running, r.inc.ID)
		}
		if s.store.holds(r.inc) {
			if err := emit(r.x); err != nil {
				return err
			}
			now := s.exp.now()
			s.store.Done(r.inc, now)
			if r.inc.Rounds == 0 {
				s.m.IncidentLatency.Observe(now.Sub(r.inc.FirstSeen).Seconds())
			}
		}
		s.waiting[0] = result{}
		s.waiting = s.waiting[1:]
	}
	return nil
}

// start explains inc on a goroutine of its own.
func (s *Service) start(inc *Incident) {
	ctx, cancel := context.WithCancel(s.ctx)
	s.running[inc.ID] = running{gen: inc.gen, home: inc.Home, cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		x := s.exp.Explain(ctx, inc)
		s.mu.Lock()
		s.ready = append(s.ready, result{inc, x})
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}()
}

// Checkpoint returns the state changes since the last call; see
// Store.Checkpoint.
func (s *Service) Checkpoint() ([]pipeline.StateEntry, error) { return s.store.Checkpoint() }

// Restore replaces a partition's state, cancelling the explanations of
// its incidents in progress; see Store.Restore.
func (s *Service) Restore(
	topic string, partition int32, entries iter.Seq[pipeline.StateEntry],
) error {
	s.stop(Partition{topic, partition})
	err := s.store.Restore(topic, partition, entries)
	s.m.OpenIncidents.Set(float64(s.store.Len()))
	return err
}

// Revoke forgets a partition's incidents and cancels their explanations in
// progress; see Store.Revoke.
func (s *Service) Revoke(topic string, partition int32) {
	s.stop(Partition{topic, partition})
	s.store.Revoke(topic, partition)
	s.m.OpenIncidents.Set(float64(s.store.Len()))
}

// stop cancels the running explanations of incidents homed in p.
func (s *Service) stop(p Partition) {
	for id, r := range s.running {
		if r.home == p {
			r.cancel()
			delete(s.running, id)
		}
	}
}

// Close cancels the explanations in progress and waits for their
// goroutines to end. Their incidents stay unexplained in the last
// checkpoint, so the next owner of their partitions explains them.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}
