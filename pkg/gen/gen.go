// Package gen generates a reproducible stream of events for the demo, the
// tests and the benchmarks: service metrics of a small closed world with
// occasional injected spikes, and, on request, poison records that no
// decoder accepts. It owns no Kafka code; callers produce what it makes.
package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// Services are the entities of the generated world.
var Services = []string{
	"checkout", "payments", "ledger", "fraud-scoring", "notifications", "search",
}

var messages = []string{
	"checkout page took forever to load",
	"card payment declined twice",
	"refund still not received after a week",
	"cannot log in to the app",
	"transfer shows as pending",
	"charged twice for one order",
}

// Generator makes events. It is not safe for concurrent use.
type Generator struct {
	rng   *rand.Rand
	start time.Time
	step  time.Duration
	n     int64
	// SpikeEvery makes every SpikeEvery-th event a spike of latency and
	// errors (0: never).
	SpikeEvery int64
}

// New returns a generator seeded with seed whose event times start at
// start and advance by step per event.
func New(seed uint64, start time.Time, step time.Duration) *Generator {
	return &Generator{
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		start:      start,
		step:       step,
		SpikeEvery: 97,
	}
}

// Next returns the next event and whether it is an injected spike.
func (g *Generator) Next() (record.Event, bool) {
	g.n++
	svc := Services[g.rng.IntN(len(Services))]
	latency := 120 + 15*g.rng.NormFloat64()
	errRate := math.Abs(0.01 + 0.004*g.rng.NormFloat64())
	spike := g.SpikeEvery > 0 && g.n%g.SpikeEvery == 0
	if spike {
		latency *= 6
		errRate += 0.2
	}
	ev := record.Event{
		ID:     fmt.Sprintf("ev-%d", g.n),
		Time:   g.start.Add(time.Duration(g.n) * g.step).Truncate(time.Millisecond),
		Source: "demo",
		Entity: svc,
		Metrics: record.Metrics{
			{Name: "error_rate", Value: math.Round(errRate*1e4) / 1e4},
			{Name: "latency_ms", Value: math.Round(latency*10) / 10},
		},
		Attributes: record.Attributes{
			{Key: "region", Value: []string{"eu-west", "us-east"}[g.n%2]},
		},
	}
	if g.rng.IntN(4) == 0 {
		t := messages[g.rng.IntN(len(messages))]
		ev.Text = &t
	}
	return ev, spike
}

// Poison returns a value that no decoder accepts, of one of a few kinds
// chosen by i: truncated Avro, an unknown fingerprint, JSON that is not an
// object, an object without an entity, and an empty value.
func Poison(i int) []byte {
	switch i % 5 {
	case 0:
		return []byte{0xC3, 0x01, 1, 2, 3}
	case 1:
		return []byte{0xC3, 0x01, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0x02, 0x41}
	case 2:
		return []byte(`[1,2,3]`)
	case 3:
		return []byte(`{"id":"x","metrics":{"latency_ms":1}}`)
	default:
		return nil
	}
}
