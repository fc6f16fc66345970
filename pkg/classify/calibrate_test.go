package classify

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestECEOfKnownPredictions(t *testing.T) {
	for _, tt := range []struct {
		name    string
		conf    []float64
		correct []bool
		want    float64
	}{
		{"perfectly calibrated", []float64{0.5, 0.5, 1, 1}, []bool{true, false, true, true}, 0},
		{"always sure, half wrong", []float64{1, 1, 1, 1}, []bool{true, false, true, false}, 0.5},
		{"two bins", []float64{0.9, 0.9, 0.3, 0.3}, []bool{true, true, true, true},
			0.5*0.1 + 0.5*0.7},
		{"nothing", nil, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ECE(tt.conf, tt.correct); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("got ECE %v, want %v", got, tt.want)
			}
		})
	}
}

func TestThresholdKeepsTheMostAtTheTarget(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	conf := make([]float64, 2000)
	correct := make([]bool, len(conf))
	for i := range conf {
		conf[i] = rng.Float64()
		correct[i] = rng.Float64() < conf[i]
	}
	for _, target := range []float64{0.8, 0.9, 0.97} {
		th, kept := Threshold(conf, correct, target)
		n, hits := 0, 0
		for i, c := range conf {
			if c >= th {
				n++
				if correct[i] {
					hits++
				}
			}
		}
		if got := float64(n) / float64(len(conf)); got != kept {
			t.Errorf("target %v: got kept %v, but %v of the records are at or above %v",
				target, kept, got, th)
		}
		if acc := float64(hits) / float64(n); acc < target {
			t.Errorf("target %v: records kept at %v are right at %v, want at least the target",
				target, th, acc)
		}
		// Any lower threshold misses the target.
		for i, c := range conf {
			if c >= th {
				continue
			}
			n2, h2 := 0, 0
			for j, d := range conf {
				if d >= c {
					n2++
					if correct[j] {
						h2++
					}
				}
			}
			if float64(h2) >= target*float64(n2) {
				t.Fatalf("target %v: threshold %v (record %d) keeps %d at the target, more "+
					"than %v keeps", target, c, i, n2, th)
			}
		}
	}
}

func TestThresholdOutOfReachKeepsNothing(t *testing.T) {
	th, kept := Threshold([]float64{0.9, 0.8}, []bool{false, false}, 0.5)
	if kept != 0 || th <= 0.9 {
		t.Errorf("got threshold %v keeping %v, want above 0.9 keeping 0", th, kept)
	}
}

func TestCalibrationLowersTheCalibrationError(t *testing.T) {
	// Noisy labels and many epochs make a model sure of answers that are
	// often wrong.
	noisy := task{classes: 5, keywords: 3, filler: 200, words: [2]int{4, 10}, noise: 0.3}
	cfg := smallConfig()
	cfg.Epochs = 40
	cfg.LR = 1
	m := trainSmall(t, noisy.generate(1500, 1, 1), cfg)
	valid := noisy.generate(800, 1, 2)
	c, err := m.Calibrate(valid, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if !(c.ECEAfter < c.ECEBefore) {
		t.Errorf("got ECE %.4f after calibration, %.4f before, want lower", c.ECEAfter, c.ECEBefore)
	}
	if !(c.BrierAfter <= c.BrierBefore) || !(c.NLLAfter < c.NLLBefore) {
		t.Errorf("got Brier %.4f and NLL %.4f after calibration, %.4f and %.4f before, "+
			"want both lower", c.BrierAfter, c.NLLAfter, c.BrierBefore, c.NLLBefore)
	}
	if c.Temperature <= 1 {
		t.Errorf("got temperature %v for an overconfident model, want above 1", c.Temperature)
	}
	if m.Temperature() != c.Temperature || m.Threshold() != c.Threshold {
		t.Errorf("model has temperature %v threshold %v, want %v and %v", m.Temperature(),
			m.Threshold(), c.Temperature, c.Threshold)
	}
	// The threshold holds on the data it was set on.
	r := Evaluate(m, valid)
	if r.KeptAccuracy < 0.9 || math.Abs(r.Kept-c.Coverage) > 1e-9 {
		t.Errorf("at threshold %v: kept %v at accuracy %v, want %v at 0.9 or more",
			c.Threshold, r.Kept, r.KeptAccuracy, c.Coverage)
	}
}

func TestCalibrateRefusesBadArguments(t *testing.T) {
	m, test := trainedModel(t, smallConfig())
	if _, err := m.Calibrate(nil, 0.9); err == nil {
		t.Error("no examples: got no error")
	}
	if _, err := m.Calibrate(test, 1.5); err == nil {
		t.Error("target accuracy 1.5: got no error")
	}
}
