package classify

import (
	"context"
	"errors"
	"time"
)

// Trial is one configuration tried by Autotune and how it did on the
// validation examples.
type Trial struct {
	Config   Config
	Accuracy float64
	MacroF1  float64
	Took     time.Duration // the training, without the evaluation
	Best     bool          // the best so far when it finished
}

// tuneAxis is one hyperparameter Autotune varies and the values it tries.
type tuneAxis struct {
	name   string
	values []float64
	set    func(c *Config, v float64)
}

// tuneGrid is the search of Autotune: one axis at a time, in this order,
// each value tried with the best values found so far on the other axes.
// The first value of each axis is the default.
var tuneGrid = []tuneAxis{
	{"idf power", []float64{1, -1, 2}, func(c *Config, v float64) { c.IDFPower = v }},
	{"epochs factor", []float64{1, 2}, func(c *Config, v float64) { c.Epochs *= int(v) }},
	{"learning rate", []float64{0.5, 0.25, 1}, func(c *Config, v float64) { c.LR = v }},
	{"character weight", []float64{0.5, 0.25, 0.75}, func(c *Config, v float64) {
		c.CharWeight = v
	}},
	{"word n-grams", []float64{2, 1, 3}, func(c *Config, v float64) { c.WordNgrams = int(v) }},
	{"lead words", []float64{6, -1, 12}, func(c *Config, v float64) { c.LeadWords = int(v) }},
}

// Autotune trains a model with base and then with the variants of a small
// grid, one hyperparameter at a time, keeping the values that do best on
// valid (accuracy, then macro-F1), until budget is spent. The first
// training always completes; a later one still running when the budget ends
// is dropped. It returns the best model, uncalibrated, and every trial in
// the order tried, reported to onTrial, which may be nil, as each ends.
// Which trials fit in the budget depends on the speed of the machine.
func Autotune(ctx context.Context, train, valid []Example, base Config, budget time.Duration,
	onTrial func(Trial)) (*Model, []Trial, error) {
	base = base.WithDefaults(len(train))
	deadline := time.Now().Add(budget)
	var (
		trials []Trial
		best   *Model
		bestT  Trial
	)
	try := func(ctx context.Context, c Config) error {
		start := time.Now()
		m, err := Train(ctx, train, c)
		if err != nil {
			return err
		}
		took := time.Since(start)
		r := Evaluate(m, valid)
		t := Trial{Config: c, Accuracy: r.Accuracy, MacroF1: r.MacroF1, Took: took}
		if best == nil || t.Accuracy > bestT.Accuracy ||
			t.Accuracy == bestT.Accuracy && t.MacroF1 > bestT.MacroF1 {
			best, bestT, t.Best = m, t, true
		}
		trials = append(trials, t)
		if onTrial != nil {
			onTrial(t)
		}
		return nil
	}
	if err := try(ctx, base); err != nil {
		return nil, nil, err
	}
	limited, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for _, axis := range tuneGrid {
		current := bestT.Config
		for _, v := range axis.values[1:] {
			c := current
			axis.set(&c, v)
			if c == current {
				continue
			}
			if time.Until(deadline) < bestT.Took/2 {
				return best, trials, nil
			}
			err := try(limited, c)
			switch {
			case err == nil:
			case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
				return best, trials, nil
			default:
				return nil, trials, err
			}
		}
	}
	return best, trials, nil
}
