package detect

import (
	"math"
	"time"
)

// Direction says on which side of the expected value a point lies.
type Direction int8

// Directions of a point.
const (
	Level Direction = 0 // the value is the expected value
	Up    Direction = 1
	Down  Direction = -1
)

// String returns "up", "down" or "level".
func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "level"
}

// Result is what a detector says about one point.
type Result struct {
	Score    float64   // anomaly score in [0, 1]; 0 during the warm-up
	Flagged  bool      // Score ≥ Config.Threshold, after the warm-up
	Warm     bool      // the warm-up is over
	Expected float64   // the value the detector expected
	Lower    float64   // lower end of the band of normal values
	Upper    float64   // upper end of the band of normal values
	Dir      Direction // side of Expected the value lies on
}

// Models of the expected value.
const (
	modelLevel = iota // exponentially weighted mean
	modelDay          // daily profile
	modelWeek         // weekly profile
	numModels
)

// Sizes of the profiles and other fixed parts of the state.
const (
	daySeconds  = 86400
	weekSeconds = 7 * daySeconds
	dayKnots    = 96  // one knot every 15 minutes
	weekKnots   = 112 // one knot every 90 minutes
	// minResiduals is how many residuals a profile's scale needs before
	// the profile may be chosen over the level.
	minResiduals = 50
	// surpriseHalf is the residual, in units of scale, whose surprise is
	// one half.
	surpriseHalf = 3
	// tailFloor bounds the tail probability away from 0; a tail at the
	// floor scores 1.
	tailFloor    = 1e-10
	logTailFloor = -23.025850929940457 // ln(tailFloor)
	// bandWidth is the half-width of the band of normal values, in units
	// of the residual scale.
	bandWidth = 3
)

// Detector scores one series online: for each point it predicts the value
// with the best of three models (the recent level, a daily profile and a
// weekly profile, both by time of the point), measures the surprise of the
// residual against that model's scale at that time, averages the last
// Config.Short surprises and scores how unlikely the average is under its
// own long-run distribution. A value far outside every value seen so far
// scores 1 at once. After a flag, a hold damps the scores that follow.
//
// It keeps a fixed amount of state (under 2 KB; a snapshot is SnapshotSize
// bytes), takes constant time and allocates nothing per point, and never
// looks ahead. Feed it points in time order. It is not safe for concurrent
// use. Create it with New; the zero value is usable only as the target of
// UnmarshalBinary.
type Detector struct {
	cfg *Config

	n      int64   // points learned
	first  float64 // unix seconds of the first point
	level  float64 // exponentially weighted mean
	lo, hi float64 // range of the values learned

	scale [numModels]float64 // mean absolute residual of each model
	count [numModels]float64 // residuals behind each scale

	day     [dayKnots]float32  // daily profile of the value
	dayDev  [dayKnots]float32  // daily profile of the absolute residual
	week    [weekKnots]float32 // weekly profile of the value
	weekDev [weekKnots]float32 // weekly profile of the absolute residual

	ring  [MaxShort]float32 // the last Short surprises
	ringI int32             // next slot of ring
	hold  int32             // points left in the current hold
	ringS float64           // sum of ring

	longMean, longVar float64 // long-run moments of the averaged surprise
}

// New returns a detector for cfg, which must be valid.
func New(cfg Config) *Detector {
	d := &Detector{}
	d.init(&cfg)
	return d
}

// init empties d and points it at cfg, which it will not modify.
func (d *Detector) init(cfg *Config) {
	*d = Detector{cfg: cfg}
	nan := float32(math.NaN())
	for i := range d.day {
		d.day[i], d.dayDev[i] = nan, nan
	}
	for i := range d.week {
		d.week[i], d.weekDev[i] = nan, nan
	}
}

// Config returns the detector's configuration.
func (d *Detector) Config() Config { return *d.cfg }

// Points returns the number of points the detector has learned.
func (d *Detector) Points() int64 { return d.n }

// Update scores v observed at t, then learns it. Points must come in time
// order; t places the point in the daily and weekly profiles. A value that
// is NaN or infinite is neither scored nor learned: the result is zero.
func (d *Detector) Update(t time.Time, v float64) Result {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Result{}
	}
	c := d.cfg
	now := float64(t.UnixNano()) / 1e9
	if d.n == 0 {
		d.first, d.level, d.lo, d.hi = now, v, v, v
		d.n = 1
		knotsAt(t, daySeconds, dayKnots).learn(d.day[:], v, c.SeasonAlpha)
		knotsAt(t, weekSeconds, weekKnots).learn(d.week[:], v, c.SeasonAlpha)
		return Result{Warm: c.Warmup <= 1, Expected: v, Lower: v, Upper: v}
	}

	// Predict with each model that can, and use the one whose residuals
	// have been smallest.
	var pred [numModels]float64
	var ok [numModels]bool
	pred[modelLevel], ok[modelLevel] = d.level, true
	kd, kw := knotsAt(t, daySeconds, dayKnots), knotsAt(t, weekSeconds, weekKnots)
	pred[modelDay], ok[modelDay] = kd.at(d.day[:])
	pred[modelWeek], ok[modelWeek] = kw.at(d.week[:])
	ok[modelDay] = ok[modelDay] && now-d.first >= daySeconds
	ok[modelWeek] = ok[modelWeek] && now-d.first >= weekSeconds
	best := modelLevel
	for k := modelDay; k < numModels; k++ {
		if ok[k] && d.count[k] >= minResiduals && d.scale[k] < d.scale[best] {
			best = k
		}
	}
	expected := pred[best]
	resid := v - expected

	// A profile knows how large its residuals are at this time of day or
	// week; the level knows only its overall scale.
	scale := d.scale[best]
	switch best {
	case modelDay:
		if s, ok := kd.at(d.dayDev[:]); ok {
			scale = s
		}
	case modelWeek:
		if s, ok := kw.at(d.weekDev[:]); ok {
			scale = s
		}
	}
	scale = max(scale, 1e-6*math.Abs(expected), 1e-3*d.scale[modelLevel], 1e-300)
	z := math.Abs(resid) / scale
	surprise := z / (z + surpriseHalf)

	// Average the last Short surprises.
	old := float64(d.ring[d.ringI])
	d.ring[d.ringI] = float32(surprise)
	d.ringS += float64(float32(surprise)) - old
	if d.ringI++; int(d.ringI) == c.Short {
		d.ringI = 0
	}
	avg := d.ringS / float64(c.Short)

	res := Result{Warm: d.n+1 >= int64(c.Warmup), Expected: expected,
		Lower: expected - bandWidth*scale, Upper: expected + bandWidth*scale}
	switch {
	case resid > 0:
		res.Dir = Up
	case resid < 0:
		res.Dir = Down
	}
	if res.Warm {
		res.Score = d.score(v, avg)
		res.Flagged = res.Score >= c.Threshold
	}

	d.learn(kd, kw, v, avg, pred, ok)
	if res.Flagged && c.Hold > 0 {
		d.hold = int32(c.Hold)
	}
	return res
}

// score turns the averaged surprise into a score: the tail probability of
// avg under a normal law with the long-run moments, on a log scale where a
// tail of tailFloor scores 1. Novel values score 1; a hold damps the
// score.
func (d *Detector) score(v, avg float64) float64 {
	c := d.cfg
	sd := max(math.Sqrt(d.longVar), 1e-6)
	tail := 0.5 * math.Erfc((avg-d.longMean)/(sd*math.Sqrt2))
	s := math.Log(tail+tailFloor) / logTailFloor
	if c.Novelty > 0 && d.hi > d.lo {
		tol := c.Novelty * (d.hi - d.lo)
		if v > d.hi+tol || v < d.lo-tol {
			s = 1
		}
	}
	s = min(max(s, 0), 1)
	if d.hold > 0 {
		s *= c.HoldFactor
		d.hold--
	}
	return s
}

// learn updates every model with v, given their predictions and the knots
// around the point in the daily and weekly profiles.
func (d *Detector) learn(kd, kw knots, v, avg float64, pred [numModels]float64,
	ok [numModels]bool) {
	c := d.cfg
	if d.n == 1 {
		d.longMean = avg
	}
	dm := avg - d.longMean
	d.longMean += c.LongAlpha * dm
	d.longVar = (1 - c.LongAlpha) * (d.longVar + c.LongAlpha*dm*dm)

	for k := range pred {
		if !ok[k] {
			continue
		}
		a := max(c.ScaleAlpha, 1/(d.count[k]+1))
		d.scale[k] += a * (math.Abs(v-pred[k]) - d.scale[k])
		d.count[k]++
	}
	if ok[modelDay] {
		kd.learn(d.dayDev[:], math.Abs(v-pred[modelDay]), c.SeasonAlpha)
	}
	if ok[modelWeek] {
		kw.learn(d.weekDev[:], math.Abs(v-pred[modelWeek]), c.SeasonAlpha)
	}
	kd.learn(d.day[:], v, c.SeasonAlpha)
	kw.learn(d.week[:], v, c.SeasonAlpha)

	d.level += c.LevelAlpha * (v - d.level)
	d.lo, d.hi = min(d.lo, v), max(d.hi, v)
	d.n++
}
