package classify

import (
	"cmp"
	"slices"
)

// ClassScore is how well a model does on one class.
type ClassScore struct {
	Label     string
	Precision float64
	Recall    float64
	F1        float64
	Support   int // examples of the class
}

// Confusion counts the examples of one class predicted as another.
type Confusion struct {
	Truth     string
	Predicted string
	Count     int
}

// CoveragePoint is one point of the coverage curve: the lowest threshold at
// which the records kept reach Target accuracy, and the share kept there.
type CoveragePoint struct {
	Target    float64
	Threshold float64
	Kept      float64
}

// Report is the measure of a model on labelled examples.
type Report struct {
	Examples   int
	Accuracy   float64
	MacroF1    float64
	Classes    []ClassScore // in the order of the model's labels, then unknown ones
	Confusions []Confusion  // the most frequent wrong pairs first
	ECE        float64      // at the model's temperature
	Coverage   []CoveragePoint
	// Kept and KeptAccuracy are the share of examples at or above the
	// model's own threshold and their accuracy.
	Kept         float64
	KeptAccuracy float64
	OutOfScope   float64 // share of examples marked out of scope
}

// CoverageTargets are the accuracies of the coverage curve of a Report.
var CoverageTargets = []float64{0.90, 0.95, 0.97, 0.99}

// Evaluate predicts every example with m and measures the result. Labels
// the model does not know count as errors and get a ClassScore of their
// own; texts without a word count as errors too.
func Evaluate(m *Model, examples []Example) Report {
	labels := slices.Clone(m.labels)
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	for _, e := range examples {
		if _, ok := index[e.Label]; !ok {
			index[e.Label] = len(labels)
			labels = append(labels, e.Label)
		}
	}
	k := len(labels)
	tp := make([]int, k)
	fp := make([]int, k)
	support := make([]int, k)
	pairs := make(map[[2]int]int)
	s := make([]scored, len(examples))
	r := Report{Examples: len(examples)}
	hits, oos, kept, keptHits := 0, 0, 0, 0
	for i, e := range examples {
		p := m.Predict(e.Text)
		y := index[e.Label]
		support[y]++
		ok := p.Class == y
		s[i] = scored{p.Confidence, ok}
		if p.OutOfScope {
			oos++
		}
		if p.Confidence >= m.threshold && !p.NoText {
			kept++
			if ok {
				keptHits++
			}
		}
		switch {
		case ok:
			hits++
			tp[y]++
		case p.Class >= 0:
			fp[p.Class]++
			pairs[[2]int{y, p.Class}]++
		}
	}
	if len(examples) == 0 {
		return r
	}
	n := float64(len(examples))
	r.Accuracy = float64(hits) / n
	r.OutOfScope = float64(oos) / n
	r.Kept = float64(kept) / n
	if kept > 0 {
		r.KeptAccuracy = float64(keptHits) / float64(kept)
	}
	for c := range k {
		cs := ClassScore{Label: labels[c], Support: support[c]}
		if tp[c]+fp[c] > 0 {
			cs.Precision = float64(tp[c]) / float64(tp[c]+fp[c])
		}
		if support[c] > 0 {
			cs.Recall = float64(tp[c]) / float64(support[c])
		}
		if cs.Precision+cs.Recall > 0 {
			cs.F1 = 2 * cs.Precision * cs.Recall / (cs.Precision + cs.Recall)
		}
		r.Classes = append(r.Classes, cs)
	}
	present := 0
	for _, cs := range r.Classes {
		if cs.Support > 0 || cs.Precision > 0 {
			r.MacroF1 += cs.F1
			present++
		}
	}
	if present > 0 {
		r.MacroF1 /= float64(present)
	}
	for p, c := range pairs {
		r.Confusions = append(r.Confusions, Confusion{labels[p[0]], labels[p[1]], c})
	}
	slices.SortFunc(r.Confusions, func(a, b Confusion) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Truth, b.Truth),
			cmp.Compare(a.Predicted, b.Predicted))
	})
	conf := make([]float64, len(s))
	correct := make([]bool, len(s))
	for i := range s {
		conf[i], correct[i] = s[i].conf, s[i].correct
	}
	r.ECE = ECE(conf, correct)
	for _, t := range CoverageTargets {
		th, kept := threshold(slices.Clone(s), t)
		r.Coverage = append(r.Coverage, CoveragePoint{t, th, kept})
	}
	return r
}
