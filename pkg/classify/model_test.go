package classify

import (
	"math"
	"strings"
	"testing"
)

func TestPredict(t *testing.T) {
	train := easyTask.generate(800, 1, 1)
	m := trainSmall(t, train, smallConfig())
	probs := make([]float64, len(m.Labels()))

	t.Run("a text of known words gets a label and probabilities", func(t *testing.T) {
		p := m.PredictProbs(train[0].Text, probs)
		if p.NoText || p.OutOfScope || p.Known != 1 || p.Label != m.Labels()[p.Class] {
			t.Fatalf("got %+v, want a label of known words", p)
		}
		sum := 0.0
		for _, v := range probs {
			sum += v
		}
		if math.Abs(sum-1) > 1e-9 || probs[p.Class] != p.Confidence {
			t.Errorf("got probabilities adding to %v, top %v against confidence %v; "+
				"want 1 and equal", sum, probs[p.Class], p.Confidence)
		}
	})
	t.Run("a text without words gets nothing", func(t *testing.T) {
		p := m.PredictProbs(" ... ", probs)
		if !p.NoText || p.Class != -1 || p.Label != "" {
			t.Errorf("got %+v, want NoText and class -1", p)
		}
	})
	t.Run("a text mostly of unknown words is out of scope", func(t *testing.T) {
		known := strings.Fields(train[0].Text)[0]
		p := m.Predict(known + " zqxjv vqzjx jxqzv")
		if !p.OutOfScope || p.Known != 0.25 {
			t.Errorf("got %+v, want out of scope with a quarter known", p)
		}
		p = m.Predict(known + " " + known + " zqxjv")
		if p.OutOfScope {
			t.Errorf("got %+v for two known words of three, want in scope", p)
		}
	})
	t.Run("predictions do not allocate", func(t *testing.T) {
		if raceEnabled {
			t.Skip("the race detector makes sync.Pool drop scratch at random")
		}
		m.Predict(train[1].Text)
		if n := testing.AllocsPerRun(100, func() { m.Predict(train[1].Text) }); n > 0 {
			t.Errorf("got %v allocations a prediction, want 0", n)
		}
	})
}

func TestEvaluate(t *testing.T) {
	m := trainSmall(t, easyTask.generate(800, 1, 1), smallConfig())
	test := easyTask.generate(300, 1, 2)
	// Swap two labels of the test set for a known error pattern, and add an
	// example of a class the model never saw.
	wrong := 0
	for i := range test {
		if test[i].Label == "class_00" && wrong < 10 {
			test[i].Label = "class_01"
			wrong++
		}
	}
	test = append(test, Example{test[0].Text, "class_new"})
	r := Evaluate(m, test)
	if r.Examples != len(test) {
		t.Errorf("got %d examples, want %d", r.Examples, len(test))
	}
	if r.Accuracy > 1-11.0/float64(len(test))+1e-9 || r.Accuracy < 0.9 {
		t.Errorf("got accuracy %.4f, want at most %d errors short of 1 and at least 0.9",
			r.Accuracy, 11)
	}
	if len(r.Confusions) == 0 || r.Confusions[0].Truth != "class_01" ||
		r.Confusions[0].Predicted != "class_00" || r.Confusions[0].Count < 10 {
		t.Errorf("got confusions %+v, want class_01 -> class_00 first, 10 or more", r.Confusions)
	}
	if last := r.Classes[len(r.Classes)-1]; last.Label != "class_new" || last.Support != 1 ||
		last.Recall != 0 {
		t.Errorf("got last class %+v, want class_new with one example, none found", last)
	}
	if len(r.Coverage) != len(CoverageTargets) {
		t.Fatalf("got %d coverage points, want %d", len(r.Coverage), len(CoverageTargets))
	}
	for i := 1; i < len(r.Coverage); i++ {
		if r.Coverage[i].Kept > r.Coverage[i-1].Kept {
			t.Errorf("got %v kept at %v accuracy, more than %v at %v", r.Coverage[i].Kept,
				r.Coverage[i].Target, r.Coverage[i-1].Kept, r.Coverage[i-1].Target)
		}
	}
	f1 := 0.0
	for _, c := range r.Classes {
		f1 += c.F1
	}
	if got := f1 / float64(len(r.Classes)); math.Abs(got-r.MacroF1) > 1e-12 {
		t.Errorf("got macro-F1 %v, want the mean of the class F1s %v", r.MacroF1, got)
	}
}
