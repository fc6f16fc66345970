package detect

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// t0 is the start of every generated series.
var t0 = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// series is a generated series with the rows where an anomaly was put.
type series struct {
	times   []time.Time
	values  []float64
	anomaly []bool
}

// daily returns n points 5 minutes apart of a daily cycle between about 20
// and 80 with normal noise of sd 2, from a fixed seed.
func daily(t testing.TB, n int, seed uint64) series {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	s := series{times: make([]time.Time, n), values: make([]float64, n),
		anomaly: make([]bool, n)}
	for i := range n {
		s.times[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
		h := float64(s.times[i].Hour()) + float64(s.times[i].Minute())/60
		s.values[i] = 50 - 30*math.Cos(2*math.Pi*h/24) + 2*rng.NormFloat64()
	}
	return s
}

// noisy returns n points one minute apart of normal noise around 100 with
// sd 5, from a fixed seed.
func noisy(t testing.TB, n int, seed uint64) series {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	s := series{times: make([]time.Time, n), values: make([]float64, n),
		anomaly: make([]bool, n)}
	for i := range n {
		s.times[i] = t0.Add(time.Duration(i) * time.Minute)
		s.values[i] = 100 + 5*rng.NormFloat64()
	}
	return s
}

// run feeds s to d and returns the results.
func run(d *Detector, s series, from, to int) []Result {
	out := make([]Result, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, d.Update(s.times[i], s.values[i]))
	}
	return out
}
