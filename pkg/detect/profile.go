package detect

import (
	"math"
	"time"
)

// A profile is a periodic function stored as evenly spaced knots over one
// period and linearly interpolated between them; a knot never learned is
// NaN. The first knot sits half a spacing after the period's start.

// knots are the two knots around a time in a profile, and the weight of the
// second.
type knots struct {
	i0, i1 int
	w      float64
}

// knotsAt returns the knots around t in a profile of n knots over period
// seconds. Periods are whole seconds, so the phase is an integer remainder
// plus the fraction of a second.
func knotsAt(t time.Time, period int64, n int) knots {
	sec := t.Unix() % period
	if sec < 0 {
		sec += period
	}
	ph := (float64(sec) + float64(t.Nanosecond())/1e9) / float64(period)
	f := ph*float64(n) - 0.5
	fl := math.Floor(f)
	k := knots{i0: int(fl), w: f - fl}
	if k.i0 < 0 {
		k.i0 += n
	}
	k.i1 = k.i0 + 1
	if k.i1 == n {
		k.i1 = 0
	}
	return k
}

// at returns the profile's value at k, and whether both knots have been
// learned.
func (k knots) at(p []float32) (float64, bool) {
	a, b := p[k.i0], p[k.i1]
	if a != a || b != b { // NaN
		return 0, false
	}
	return (1-k.w)*float64(a) + k.w*float64(b), true
}

// learn moves the two knots of p at k toward v by a gradient step of size
// rate on the squared error; a knot never learned first takes v.
func (k knots) learn(p []float32, v, rate float64) {
	if p[k.i0] != p[k.i0] {
		p[k.i0] = float32(v)
	}
	if p[k.i1] != p[k.i1] {
		p[k.i1] = float32(v)
	}
	e := v - ((1-k.w)*float64(p[k.i0]) + k.w*float64(p[k.i1]))
	p[k.i0] += float32(rate * (1 - k.w) * e)
	p[k.i1] += float32(rate * k.w * e)
}
