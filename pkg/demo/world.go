package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// Source is the source field of every generated event.
const Source = "demo"

// service is one service of the world, with its normal levels.
type service struct {
	name       string
	latency    float64 // ms
	errorRate  float64
	throughput float64 // requests per second
	db         string  // the database it depends on, if any
}

// services are the services that report metrics, the databases among
// them.
var services = []service{
	{"api-gateway", 45, 0.004, 1800, ""},
	{"checkout", 120, 0.006, 600, "db-orders"},
	{"payment-gateway", 210, 0.008, 550, ""},
	{"ledger", 60, 0.002, 900, "db-ledger"},
	{"accounts", 80, 0.003, 400, "db-customers"},
	{"fraud-scoring", 35, 0.001, 600, "db-customers"},
	{"notifications", 150, 0.010, 300, "db-orders"},
	{"search", 90, 0.005, 700, ""},
	{"db-orders", 8, 0.0005, 4000, ""},
	{"db-ledger", 5, 0.0003, 2500, ""},
	{"db-customers", 11, 0.0004, 3000, ""},
}

// databases are the databases a slow-database incident picks from, one
// per cycle in turn.
var databases = []string{"db-orders", "db-ledger", "db-customers"}

// Services returns the names of the services that report metrics.
func Services() []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s.name
	}
	return out
}

// merchants are the merchants whose payments are summarised every step.
var merchants = []struct {
	name   string
	amount float64 // mean payment in euros
	count  float64 // payments per step
}{
	{"m-fresh-basket", 42, 120}, {"m-urban-threads", 68, 60}, {"m-nimbus-air", 310, 25},
	{"m-bookworm", 24, 50}, {"m-cafe-lune", 9, 200}, {"m-pixel-games", 35, 80},
	{"m-green-grocer", 28, 140}, {"m-metro-rail", 6, 400}, {"m-hotel-azur", 180, 20},
	{"m-volt-energy", 95, 45}, {"m-petpals", 31, 70}, {"m-sole-mates", 74, 40},
}

// Merchants returns the names of the merchants.
func Merchants() []string {
	out := make([]string, len(merchants))
	for i, m := range merchants {
		out[i] = m.name
	}
	return out
}

// dayFrames is the period, in steps, of the load's daily wave.
const dayFrames = 40

// channels are the entities of customer messages.
var channels = []string{"chat", "email", "app-feedback", "phone-transcript", "social"}

// Config sets up a World.
type Config struct {
	// Seed makes the world reproducible: the same seed and config give the
	// same events.
	Seed uint64
	// Start is the event time of step 0.
	Start time.Time
	// Step is the event time between two steps. Default: 30s.
	Step time.Duration
	// RecordsPerStep is how many events a step makes: one per service and
	// one per merchant, and customer messages for the rest. Default: 200.
	RecordsPerStep int
	// WarmupSteps are the steps of normal data before the first incident.
	// Default: 60.
	WarmupSteps int64
	// CycleSteps is the period of the incident schedule: each cycle injects
	// a payment-gateway outage, a slow database and a fraud burst, in that
	// order. Default: 150.
	CycleSteps int64
	// LastStep, when positive, is the last step an incident may be under
	// way in; incidents that would end later are not injected.
	LastStep int64
}

func (c *Config) defaults() {
	if c.Step <= 0 {
		c.Step = 30 * time.Second
	}
	if c.RecordsPerStep <= 0 {
		c.RecordsPerStep = 200
	}
	if c.WarmupSteps <= 0 {
		c.WarmupSteps = 60
	}
	if c.CycleSteps <= 0 {
		c.CycleSteps = 150
	}
}

// MetricRecordsPerStep is how many events of each step carry metrics.
func MetricRecordsPerStep() int { return len(services) + len(merchants) }

// World generates the events of the closed world, one step at a time. It
// is not safe for concurrent use.
type World struct {
	cfg  Config
	rng  *rand.Rand
	msg  messageMaker
	pool map[string][]string // per intent, messages to draw from
	step int64
	n    int64
	inc  []Incident
	// cur holds the incidents of the current cycle, by kind.
	cur      map[Kind]*Incident
	curCycle int64
	// hits holds, per database or merchant hit so far, the magnitude of
	// its last incident.
	hits map[string]float64
}

// New returns the world of cfg, with cfg's zero fields set to their
// defaults.
func New(cfg Config) *World {
	cfg.defaults()
	w := &World{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		pool:     make(map[string][]string, len(Intents)),
		curCycle: -1,
		hits:     map[string]float64{},
	}
	w.msg = messageMaker{rng: rand.New(rand.NewPCG(cfg.Seed, 0x7e47))}
	for _, in := range Intents {
		p := make([]string, 256)
		for i := range p {
			p[i] = w.msg.message(in)
		}
		w.pool[in] = p
	}
	return w
}

// StepNumber returns the number of the next step.
func (w *World) StepNumber() int64 { return w.step }

// TimeOf returns the event time of step s.
func (w *World) TimeOf(s int64) time.Time {
	return w.cfg.Start.Add(time.Duration(s) * w.cfg.Step).Truncate(time.Millisecond)
}

// Incidents returns the incidents injected so far (started), in start
// order. The slice is a copy.
func (w *World) Incidents() []Incident { return append([]Incident(nil), w.inc...) }

// Step appends the events of the next step to buf and returns it, with
// the incidents that start in this step. The events of one step share an
// event time.
func (w *World) Step(buf []record.Event) ([]record.Event, []Incident) {
	s := w.step
	w.step++
	w.plan(s)
	var started []Incident
	for _, k := range kinds {
		if in := w.cur[k]; in != nil && in.StartStep == s {
			w.inc = append(w.inc, *in)
			started = append(started, *in)
		}
	}
	t := w.TimeOf(s)
	// A day of the world is compressed into dayFrames steps so that a demo
	// of seconds shows its shape, and the warm-up sees all of it.
	day := 1 + 0.06*math.Sin(2*math.Pi*float64(s)/dayFrames)
	for _, sv := range services {
		buf = append(buf, w.serviceEvent(s, t, sv, day))
	}
	for i := range merchants {
		buf = append(buf, w.merchantEvent(s, t, i, day))
	}
	declined := w.active(KindGatewayOutage, s, 2)
	for range max(0, w.cfg.RecordsPerStep-MetricRecordsPerStep()) {
		intent := Intents[w.rng.IntN(len(Intents))]
		if declined != nil && w.rng.IntN(3) == 0 {
			intent = ClassCardDeclined
		}
		p := w.pool[intent]
		text := p[w.rng.IntN(len(p))]
		w.n++
		buf = append(buf, record.Event{
			ID:         fmt.Sprintf("msg-%d", w.n),
			Time:       t,
			Source:     Source,
			Entity:     channels[w.rng.IntN(len(channels))],
			Text:       &text,
			Attributes: record.Attributes{{Key: "kind", Value: "message"}},
		})
	}
	return buf, started
}

// noise returns a factor near 1 with relative standard deviation sd. It is
// uniform, so bounded: normal data soon spans the range it will keep.
func (w *World) noise(sd float64) float64 {
	return 1 + sd*math.Sqrt(3)*(2*w.rng.Float64()-1)
}

func (w *World) serviceEvent(s int64, t time.Time, sv service, day float64) record.Event {
	lat := sv.latency * w.noise(0.05)
	errs := sv.errorRate * w.noise(0.15)
	tp := sv.throughput * day * w.noise(0.04)
	if in := w.active(KindGatewayOutage, s, 0); in != nil && sv.name == "payment-gateway" {
		errs = in.magnitude * w.noise(0.1)
		tp *= 0.6
		lat *= 1.5
	}
	if in := w.active(KindSlowDatabase, s, 0); in != nil && (sv.db == in.Entities[0] ||
		sv.name == in.Entities[0]) {
		lat *= in.magnitude * w.noise(0.05)
	}
	w.n++
	return record.Event{
		ID:     fmt.Sprintf("svc-%d", w.n),
		Time:   t,
		Source: Source,
		Entity: sv.name,
		Metrics: record.Metrics{
			{Name: "error_rate", Value: math.Round(errs*1e5) / 1e5},
			{Name: "latency_ms", Value: math.Round(lat*10) / 10},
			{Name: "throughput", Value: math.Round(tp)},
		},
		Attributes: record.Attributes{{Key: "kind", Value: "service"}},
	}
}

func (w *World) merchantEvent(s int64, t time.Time, i int, day float64) record.Event {
	m := merchants[i]
	amount := m.amount * w.noise(0.05)
	count := math.Round(m.count * day * w.noise(0.05))
	if in := w.active(KindFraudBurst, s, 0); in != nil && in.Entities[0] == m.name {
		amount *= in.magnitude * w.noise(0.05)
		count = math.Round(count * 1.3)
	}
	w.n++
	return record.Event{
		ID:     fmt.Sprintf("pay-%d", w.n),
		Time:   t,
		Source: Source,
		Entity: m.name,
		Metrics: record.Metrics{
			{Name: "amount_avg", Value: math.Round(amount*100) / 100},
			{Name: "payments", Value: count},
		},
		Attributes: record.Attributes{{Key: "kind", Value: "payments"}},
	}
}
