package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Kind is what an injected incident does to the world.
type Kind string

// The kinds of incident, in the order each cycle injects them.
const (
	// KindGatewayOutage raises the error rate of payment-gateway; two steps
	// later a third of the customer messages are about declined cards.
	KindGatewayOutage Kind = "gateway-outage"
	// KindSlowDatabase multiplies the latency of one database and of the
	// services that depend on it.
	KindSlowDatabase Kind = "slow-database"
	// KindFraudBurst multiplies the average payment amount of one merchant.
	KindFraudBurst Kind = "fraud-burst"
)

var kinds = []Kind{KindGatewayOutage, KindSlowDatabase, KindFraudBurst}

// incidentSteps is how many steps an incident lasts.
const incidentSteps = 15

// Incident is one injected incident: its ground truth.
type Incident struct {
	ID    string
	Kind  Kind
	Title string
	// Entities are the entities whose metrics the incident moves.
	Entities []string
	// Classes are the message intents whose rate the incident raises.
	Classes []string
	// StartStep and EndStep bound the steps it is under way in, EndStep
	// excluded; Start and End are their event times.
	StartStep, EndStep int64
	Start, End         time.Time
	magnitude          float64
}

// plan sets the incidents of the cycle that step s belongs to.
func (w *World) plan(s int64) {
	if s < w.cfg.WarmupSteps {
		return
	}
	c := (s - w.cfg.WarmupSteps) / w.cfg.CycleSteps
	if c == w.curCycle {
		return
	}
	w.curCycle = c
	w.cur = make(map[Kind]*Incident, len(kinds))
	r := rand.New(rand.NewPCG(w.cfg.Seed, uint64(c)+1))
	base := w.cfg.WarmupSteps + c*w.cfg.CycleSteps
	gap := w.cfg.CycleSteps / int64(len(kinds))
	for i, k := range kinds {
		start := base + 20 + int64(i)*gap
		in := &Incident{
			ID:        fmt.Sprintf("%s-%d", k, c+1),
			Kind:      k,
			StartStep: start,
			EndStep:   start + incidentSteps,
			Start:     w.TimeOf(start),
			End:       w.TimeOf(start + incidentSteps),
		}
		if w.cfg.LastStep > 0 && in.EndStep > w.cfg.LastStep {
			continue
		}
		switch k {
		case KindGatewayOutage:
			// The threshold rule on error_rate catches every outage, so its
			// size needs no growth.
			in.magnitude = 0.15 + 0.2*r.Float64()
			in.Entities = []string{"payment-gateway"}
			in.Classes = []string{ClassCardDeclined}
			in.Title = fmt.Sprintf("payment-gateway outage: error rate %.0f%%, then card "+
				"declined messages surge", 100*in.magnitude)
		case KindSlowDatabase:
			db := databases[c%int64(len(databases))]
			in.magnitude = w.stronger(db, 3+3*r.Float64())
			in.Entities = []string{db}
			for _, sv := range services {
				if sv.db == db {
					in.Entities = append(in.Entities, sv.name)
				}
			}
			in.Title = fmt.Sprintf("slow database: %s and the services on it at %.1fx "+
				"latency", db, in.magnitude)
		case KindFraudBurst:
			// Every merchant is hit once, in an order of the seed, before
			// any is hit again.
			round := rand.New(rand.NewPCG(w.cfg.Seed, uint64(c)/uint64(len(merchants))+1<<32))
			m := merchants[round.Perm(len(merchants))[c%int64(len(merchants))]].name
			in.magnitude = w.stronger(m, 5+5*r.Float64())
			in.Entities = []string{m}
			in.Title = fmt.Sprintf("fraud burst at %s: payments %.1fx the usual amount", m,
				in.magnitude)
		}
		w.cur[k] = in
	}
}

// growth is how much stronger than the strongest before an incident on
// the same database or merchant is. The detectors learn a recurring
// pattern as normal, as they should; a demo that runs for long would
// otherwise show its repeats going unnoticed.
const growth = 1.15

// stronger returns the magnitude of an incident on target: first, and
// then growth times the one before.
func (w *World) stronger(target string, first float64) float64 {
	m := first
	if prev, ok := w.hits[target]; ok {
		m = prev * growth
	}
	w.hits[target] = m
	return m
}

// active returns the incident of kind k under way at step s, its first
// lag steps left out, or nil.
func (w *World) active(k Kind, s, lag int64) *Incident {
	in := w.cur[k]
	if in == nil || s < in.StartStep+lag || s >= in.EndStep {
		return nil
	}
	return in
}

// Covers reports whether the incident concerns entity or, for a class
// surge, label.
func (in *Incident) Covers(entity, label string) bool {
	return slices.Contains(in.Entities, entity) ||
		(label != "" && slices.Contains(in.Classes, label))
}
