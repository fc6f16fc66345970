package classify

import (
	"context"
	"testing"
	"time"
)

func TestAutotuneKeepsTheBestTrial(t *testing.T) {
	noisy := task{classes: 5, keywords: 3, filler: 200, words: [2]int{4, 10}, noise: 0.1}
	train, valid := noisy.generate(600, 1, 1), noisy.generate(200, 1, 2)
	var seen []Trial
	m, trials, err := Autotune(context.Background(), train, valid, smallConfig(), time.Minute,
		func(tr Trial) { seen = append(seen, tr) })
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) < 2 || len(seen) != len(trials) {
		t.Fatalf("got %d trials and %d reports, want the same number, at least 2",
			len(trials), len(seen))
	}
	best := trials[0]
	for _, tr := range trials {
		if tr.Accuracy > best.Accuracy ||
			tr.Accuracy == best.Accuracy && tr.MacroF1 > best.MacroF1 {
			best = tr
		}
	}
	if got := Evaluate(m, valid).Accuracy; got != best.Accuracy {
		t.Errorf("got a model of accuracy %v, want the best trial's %v", got, best.Accuracy)
	}
	if mc, bc := m.Config(), best.Config; mc.IDFPower != bc.IDFPower || mc.LR != bc.LR ||
		mc.Epochs != bc.Epochs || mc.WordNgrams != bc.WordNgrams {
		t.Errorf("got model config %+v, want the best trial's %+v", mc, bc)
	}
}

func TestAutotuneStopsAtTheBudget(t *testing.T) {
	train, valid := easyTask.generate(400, 1, 1), easyTask.generate(100, 1, 2)
	m, trials, err := Autotune(context.Background(), train, valid, smallConfig(),
		time.Nanosecond, nil)
	if err != nil || m == nil {
		t.Fatalf("got model %v, error %v; want a model", m, err)
	}
	if len(trials) != 1 {
		t.Errorf("got %d trials in a budget of 1ns, want only the first", len(trials))
	}
}
