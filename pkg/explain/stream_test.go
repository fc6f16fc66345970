package explain

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// streamEvent is one escalation of a generated stream: when it arrives,
// after the start, on which partition, and which injected incident it
// belongs to (-1 for none).
type streamEvent struct {
	after     time.Duration
	partition int32
	esc       *record.Escalation
	incident  int
}

// streamEntities are the entities of the generated stream.
var streamEntities = []string{"checkout", "payments", "ledger", "fraud-scoring",
	"notifications", "search", "auth", "inventory"}

// generateStream returns n injected incidents of 1 to 3 entities whose
// latency rose together, in bursts of 2 to 5 escalations per entity over
// 90s of event time arriving within spread, one incident every gap of
// processing time and 30 minutes of event time; every other incident gets
// a late escalation after late. Between incidents, an isolated escalation
// of a random entity stands for noise: an incident of its own.
func generateStream(seed uint64, n int, gap, spread, late time.Duration) []streamEvent {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []streamEvent
	partition := func(entity string) int32 { return int32(len(entity) % 3) }
	for k := range n {
		base := time.Duration(k) * gap
		at := t0.Add(time.Duration(k) * 30 * time.Minute)
		entities := slices.Clone(streamEntities)
		rng.Shuffle(len(entities), func(i, j int) { entities[i], entities[j] = entities[j], entities[i] })
		entities = entities[:1+rng.IntN(3)]
		for _, ent := range entities {
			for range 2 + rng.IntN(4) {
				off := time.Duration(rng.IntN(90)) * time.Second
				out = append(out, streamEvent{
					after:     base + time.Duration(float64(spread)*off.Seconds()/90),
					partition: partition(ent),
					esc: escalation(escOpts{entity: ent, at: at.Add(off), metric: "latency_ms",
						value: 300 + float64(rng.IntN(500))}),
					incident: k,
				})
			}
		}
		if k%2 == 0 {
			ent := entities[0]
			out = append(out, streamEvent{
				after: base + late, partition: partition(ent), incident: k,
				esc: escalation(escOpts{entity: ent, at: at.Add(2 * time.Minute),
					metric: "latency_ms", value: 900}),
			})
		}
		noise := streamEntities[rng.IntN(len(streamEntities))]
		out = append(out, streamEvent{
			after: base + gap/2, partition: partition(noise), incident: -1,
			esc: escalation(escOpts{entity: noise, at: at.Add(15 * time.Minute),
				metric: "error_rate", dir: record.DirectionDown, value: 0.0001}),
		})
	}
	slices.SortStableFunc(out, func(a, b streamEvent) int { return int(a.after - b.after) })
	return out
}

// streamResult is what running a stream gave.
type streamResult struct {
	explanations []record.Explanation
	idOf         map[record.EscalationRef]string // incident of each escalation
	firstSeen    map[string]time.Time            // arrival of each incident's first escalation
	explainedAt  map[string]time.Time            // emission of its first explanation
	refs         []record.EscalationRef
	events       []streamEvent
	opened       int
	requests     int
}

// latencies returns, per incident, the time from its first escalation's
// arrival to its first explanation, sorted.
func (r *streamResult) latencies() []time.Duration {
	var out []time.Duration
	for id, first := range r.firstSeen {
		if at, ok := r.explainedAt[id]; ok {
			out = append(out, at.Sub(first))
		}
	}
	slices.Sort(out)
	return out
}

// p95 returns the 95th percentile of sorted durations.
func p95(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[(len(ds)*95+99)/100-1]
}

// runStream feeds events to a Service in processing time, ticking every
// tick (and, with hint, when Service.NextTick says), until every incident
// opened has an explanation covering all its escalations or the deadline
// passes.
func runStream(tb testing.TB, cfg Config, srv *chatServer, events []streamEvent,
	tick time.Duration, hint bool) *streamResult {
	tb.Helper()
	e, err := NewExplainer(cfg, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	svc := NewService(cfg, e)
	defer svc.Close()

	r := &streamResult{
		idOf: map[record.EscalationRef]string{}, firstSeen: map[string]time.Time{},
		explainedAt: map[string]time.Time{}, events: events,
	}
	covered := map[record.EscalationRef]bool{}
	emit := func(x record.Explanation) error {
		r.explanations = append(r.explanations, x)
		if _, ok := r.explainedAt[x.IncidentID]; !ok {
			r.explainedAt[x.IncidentID] = time.Now()
		}
		for _, ref := range x.Escalations {
			covered[ref] = true
		}
		return nil
	}

	// As in the loop: escalations are added as they arrive, and Tick runs
	// every tick on the same goroutine, blocking the adds while it waits
	// for the model.
	var f feeder
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	next := 0
	nextTick := start
	for time.Now().Before(deadline) {
		now := time.Now()
		for next < len(events) && now.Sub(start) >= events[next].after {
			ev := events[next]
			ref := f.ref(ev.partition, ev.esc)
			id, _ := svc.Store().Add(ref, ev.esc, now)
			r.idOf[ref] = id
			r.refs = append(r.refs, ref)
			if _, ok := r.firstSeen[id]; !ok {
				r.firstSeen[id] = start.Add(ev.after)
			}
			next++
		}
		if !now.Before(nextTick) {
			if err := svc.Tick(context.Background(), now, emit); err != nil {
				tb.Fatal(err)
			}
			nextTick = now.Add(tick)
		}
		if at, ok := svc.NextTick(time.Now()); hint && ok && at.Before(nextTick) {
			nextTick = at
		}
		if next == len(events) && len(covered) == len(r.refs) {
			break
		}
		wake := nextTick
		if next < len(events) {
			if at := start.Add(events[next].after); at.Before(wake) {
				wake = at
			}
		}
		time.Sleep(max(time.Until(wake), 0))
	}
	r.opened = svc.Store().Opened()
	if srv != nil {
		r.requests = srv.requests()
	}
	return r
}

func TestStreamWithInjectedIncidents(t *testing.T) {
	const latency = 100 * time.Millisecond
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, _ map[string]any) {
		time.Sleep(latency)
		writeCompletion(w, validAnswer())
	})
	cfg := testConfig(srv.URL())
	cfg.Incidents.Debounce = 300 * time.Millisecond
	cfg.Incidents.UpdateInterval = time.Second
	cfg.Model.MaxConcurrent = 4

	events := generateStream(1, 10, 250*time.Millisecond, 200*time.Millisecond,
		700*time.Millisecond)
	r := runStream(t, cfg, srv, events, time.Second, true)

	t.Run("every escalation is explained", func(t *testing.T) {
		covered := map[record.EscalationRef]bool{}
		for _, x := range r.explanations {
			for _, ref := range x.Escalations {
				covered[ref] = true
			}
		}
		for _, ref := range r.refs {
			if !covered[ref] {
				t.Errorf("escalation %+v of incident %s is in no explanation", ref, r.idOf[ref])
			}
		}
	})

	t.Run("each injected incident is one incident", func(t *testing.T) {
		idOfInjected := map[int]string{}
		injectedOfID := map[string]int{}
		for i, ref := range r.refs {
			k := r.events[i].incident
			if k < 0 {
				continue
			}
			id := r.idOf[ref]
			if prev, ok := idOfInjected[k]; ok && prev != id {
				t.Errorf("injected incident %d split into %s and %s", k, prev, id)
			}
			if prev, ok := injectedOfID[id]; ok && prev != k {
				t.Errorf("injected incidents %d and %d merged into %s", prev, k, id)
			}
			idOfInjected[k], injectedOfID[id] = id, k
		}
		if len(idOfInjected) != 10 {
			t.Errorf("got %d injected incidents, want 10", len(idOfInjected))
		}
	})

	t.Run("model calls are per incident and update, not per record", func(t *testing.T) {
		rounds := map[string]int{}
		for _, x := range r.explanations {
			rounds[x.IncidentID]++
			if x.Source != record.SourceModel {
				t.Errorf("incident %s explained by %s, want the model", x.IncidentID, x.Source)
			}
		}
		updates := len(r.explanations) - len(rounds)
		if len(rounds) != r.opened {
			t.Errorf("got %d incidents explained, want all %d opened", len(rounds), r.opened)
		}
		if r.requests > r.opened+updates {
			t.Errorf("got %d model calls, want at most %d incidents + %d updates",
				r.requests, r.opened, updates)
		}
		if updates == 0 || r.requests >= len(r.refs) {
			t.Errorf("got %d updates and %d calls for %d escalations, want some updates and"+
				" fewer calls than escalations", updates, r.requests, len(r.refs))
		}
	})

	// The time from an incident's first escalation to its explanation is
	// a speed, measured by BenchmarkStreamLatency; a test asserting it
	// would fail on a loaded machine. Here every incident must have one.
	t.Run("every incident opened has a time to its explanation", func(t *testing.T) {
		ls := r.latencies()
		if len(ls) != r.opened {
			t.Errorf("got %d incidents with a time to explanation, want %d", len(ls), r.opened)
		}
		t.Logf("p95 %v over %d incidents (debounce %v, model latency %v)", p95(ls), len(ls),
			cfg.Incidents.Debounce, latency)
	})
}

func TestStreamWithoutModel(t *testing.T) {
	cfg := testConfig("")
	events := generateStream(2, 4, 100*time.Millisecond, 50*time.Millisecond,
		300*time.Millisecond)
	r := runStream(t, cfg, nil, events, 10*time.Millisecond, false)
	ids := map[string]bool{}
	for _, x := range r.explanations {
		ids[x.IncidentID] = true
		if x.Source != record.SourceHeuristic {
			t.Errorf("got source %s, want heuristic", x.Source)
		}
	}
	if len(ids) != r.opened || r.opened != 8 {
		t.Errorf("got %d incidents explained of %d opened, want 8", len(ids), r.opened)
	}
}

// BenchmarkStreamLatency runs generated streams of 10 incidents against
// a model answering in 100ms, with a 300ms debounce, ticking every 20ms,
// every second (the loop's default), and every second or when NextTick
// says, and reports the p95 time from an
// incident's first escalation to its first explanation, and the model
// calls per incident.
func BenchmarkStreamLatency(b *testing.B) {
	const latency = 100 * time.Millisecond
	srv := newChatServer(b, func(w http.ResponseWriter, _ int, _ map[string]any) {
		time.Sleep(latency)
		writeCompletion(w, validAnswer())
	})
	cfg := testConfig(srv.URL())
	cfg.Incidents.Debounce = 300 * time.Millisecond
	cfg.Incidents.UpdateInterval = time.Second
	cfg.Model.MaxConcurrent = 4
	for _, c := range []struct {
		tick time.Duration
		hint bool
	}{{20 * time.Millisecond, false}, {time.Second, false}, {time.Second, true}} {
		name := "tick=" + c.tick.String()
		if c.hint {
			name += ",next_tick"
		}
		b.Run(name, func(b *testing.B) {
			var all []time.Duration
			calls, incidents := 0, 0
			for i := 0; i < b.N; i++ {
				before := srv.requests()
				events := generateStream(uint64(i+1), 10, 250*time.Millisecond,
					200*time.Millisecond, 700*time.Millisecond)
				r := runStream(b, cfg, srv, events, c.tick, c.hint)
				all = append(all, r.latencies()...)
				calls += srv.requests() - before
				incidents += r.opened
			}
			slices.Sort(all)
			b.ReportMetric(float64(p95(all).Milliseconds()), "p95-ms")
			b.ReportMetric(float64(calls)/float64(incidents), "calls/incident")
			b.ReportMetric(0, "ns/op")
		})
	}
}
