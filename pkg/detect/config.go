package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
)

// ErrBadConfig is returned by Config.Validate when a parameter is out of
// its range.
var ErrBadConfig = errors.New("bad detector config")

// Config holds the parameters a user may tune. The zero value is not
// usable; start from DefaultConfig. One Config serves every series: there
// are no per-series settings.
type Config struct {
	// Warmup is the number of points, counting the current one, a series
	// must have seen before it is scored; before that Score is 0 and
	// nothing is flagged. Default 150.
	Warmup int
	// Threshold is the score at or above which a point is flagged and a
	// hold starts. Default 0.3.
	Threshold float64
	// Hold is the number of points after a flag during which scores are
	// multiplied by HoldFactor, so that one incident raises one alarm.
	// 0 disables it. Default 150.
	Hold int
	// HoldFactor multiplies scores during a hold, in [0, 1]. When it equals
	// Threshold, only a score of 1 flags again during a hold. Default 0.3.
	HoldFactor float64
	// Novelty is the margin, as a share of the range of values seen so far,
	// by which a value must leave that range to score 1 at once. 0 disables
	// it. Default 0.05.
	Novelty float64

	// LevelAlpha is the weight of a new point in the level, the expected
	// value of a series without a daily or weekly profile. Default 0.1.
	LevelAlpha float64
	// ScaleAlpha is the weight of a new point in each model's residual
	// scale (mean absolute deviation from its expected value), which also
	// decides which model is used. Default 0.02.
	ScaleAlpha float64
	// SeasonAlpha is the learning rate of the daily and weekly profiles of
	// value and residual scale. Default 0.3.
	SeasonAlpha float64
	// Short is the number of recent surprises averaged before the average
	// is compared with its long-run distribution, 1 to MaxShort.
	// Default 10.
	Short int
	// LongAlpha is the weight of a new point in the long-run mean and
	// variance of the averaged surprise. Default 0.001.
	LongAlpha float64
}

// MaxShort is the largest Config.Short.
const MaxShort = 16

// DefaultConfig returns the configuration the worker and "triage detect"
// use unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Warmup:      150,
		Threshold:   0.3,
		Hold:        150,
		HoldFactor:  0.3,
		Novelty:     0.05,
		LevelAlpha:  0.1,
		ScaleAlpha:  0.02,
		SeasonAlpha: 0.3,
		Short:       10,
		LongAlpha:   0.001,
	}
}

// Validate reports the first parameter out of its range.
func (c Config) Validate() error {
	switch {
	case c.Warmup < 0:
		return fmt.Errorf("%w: warmup %d, want ≥ 0", ErrBadConfig, c.Warmup)
	case !(c.Threshold > 0 && c.Threshold <= 1):
		return fmt.Errorf("%w: threshold %v, want (0, 1]", ErrBadConfig, c.Threshold)
	case c.Hold < 0:
		return fmt.Errorf("%w: hold %d, want ≥ 0", ErrBadConfig, c.Hold)
	case !(c.HoldFactor >= 0 && c.HoldFactor <= 1):
		return fmt.Errorf("%w: hold factor %v, want [0, 1]", ErrBadConfig, c.HoldFactor)
	case !(c.Novelty >= 0) || math.IsInf(c.Novelty, 1):
		return fmt.Errorf("%w: novelty %v, want a finite value ≥ 0", ErrBadConfig, c.Novelty)
	case c.Short < 1 || c.Short > MaxShort:
		return fmt.Errorf("%w: short %d, want 1 to %d", ErrBadConfig, c.Short, MaxShort)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"level alpha", c.LevelAlpha}, {"scale alpha", c.ScaleAlpha},
		{"season alpha", c.SeasonAlpha}, {"long alpha", c.LongAlpha}} {
		if !(p.v > 0 && p.v <= 1) {
			return fmt.Errorf("%w: %s %v, want (0, 1]", ErrBadConfig, p.name, p.v)
		}
	}
	return nil
}

// learning returns a fingerprint of the parameters that shape what a
// detector learns. Snapshots carry it: state learned under other values
// would not continue as it started. Warmup, Threshold, Hold, HoldFactor and
// Novelty act on the output only and may change between snapshot and
// restore.
func (c Config) learning() uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, f := range []float64{c.LevelAlpha, c.ScaleAlpha, c.SeasonAlpha,
		float64(c.Short), c.LongAlpha} {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
		h.Write(b[:])
	}
	return h.Sum64()
}
