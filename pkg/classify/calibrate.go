package classify

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// eceBins is the number of equal-width confidence bins of the expected
// calibration error.
const eceBins = 15

// scored is one prediction with its truth, the material of calibration and
// of the coverage curve.
type scored struct {
	conf    float64
	correct bool
}

// ECE returns the expected calibration error of predictions: the mean,
// weighted by the share of predictions in each of 15 equal-width bins of
// confidence, of |accuracy - mean confidence| in the bin.
func ECE(confidence []float64, correct []bool) float64 {
	var n, hits [eceBins]float64
	var sum [eceBins]float64
	for i, c := range confidence {
		b := min(int(c*eceBins), eceBins-1)
		b = max(b, 0)
		n[b]++
		sum[b] += c
		if correct[i] {
			hits[b]++
		}
	}
	total := float64(len(confidence))
	if total == 0 {
		return 0
	}
	e := 0.0
	for b := range eceBins {
		if n[b] > 0 {
			e += n[b] / total * math.Abs(hits[b]/n[b]-sum[b]/n[b])
		}
	}
	return e
}

// Threshold returns the smallest confidence t such that the predictions of
// confidence at least t are correct at a rate of at least target, choosing,
// among such t, the one that keeps the most predictions; and the share kept.
// When no threshold reaches target it returns a threshold above every
// confidence, which keeps nothing, and 0.
func Threshold(confidence []float64, correct []bool, target float64) (float64, float64) {
	s := make([]scored, len(confidence))
	for i := range s {
		s[i] = scored{confidence[i], correct[i]}
	}
	return threshold(s, target)
}

func threshold(s []scored, target float64) (float64, float64) {
	slices.SortFunc(s, func(a, b scored) int { return cmp.Compare(b.conf, a.conf) })
	best, bestKept := math.Inf(1), 0
	hits := 0
	for i := 0; i < len(s); {
		// Predictions of equal confidence are kept or dropped together.
		j := i
		for ; j < len(s) && s[j].conf == s[i].conf; j++ {
			if s[j].correct {
				hits++
			}
		}
		if float64(hits) >= target*float64(j) {
			best, bestKept = s[i].conf, j
		}
		i = j
	}
	if bestKept == 0 {
		if len(s) > 0 {
			return math.Nextafter(s[0].conf, math.Inf(1)), 0
		}
		return 1, 0
	}
	return best, float64(bestKept) / float64(len(s))
}

// Calibration is what Calibrate measured and set.
type Calibration struct {
	Temperature float64 // divides the logits; 1 is none
	ECEBefore   float64 // expected calibration error at temperature 1
	ECEAfter    float64 // at Temperature
	// BrierBefore and BrierAfter are the mean of (confidence - correct)^2
	// over the examples, correct being 1 or 0, at temperature 1 and at
	// Temperature: the loss the temperature minimises.
	BrierBefore float64
	BrierAfter  float64
	NLLBefore   float64 // mean negative log-likelihood at temperature 1
	NLLAfter    float64 // at Temperature
	Target      float64 // the accuracy asked of the records kept
	Threshold   float64 // confidence below which records are escalated
	Coverage    float64 // share of the examples kept at Threshold
}

// Calibrate fits the temperature of m to examples, held out from training,
// then sets the threshold at which the examples kept reach target accuracy.
// The temperature minimises the squared error between the confidence of
// each prediction and its correctness (the top-label Brier score): the
// confidence is what the cascade acts on, and unlike the log-likelihood of
// the whole distribution this loss asks only that it mean what it says.
// Examples whose label the model does not know are counted as wrong. It
// must not be called while the model is in use by other goroutines.
func (m *Model) Calibrate(examples []Example, target float64) (Calibration, error) {
	if len(examples) == 0 {
		return Calibration{}, fmt.Errorf("%w: no examples to calibrate on", ErrData)
	}
	if !(target > 0 && target <= 1) {
		return Calibration{}, fmt.Errorf("%w: target accuracy %v: want in (0, 1]",
			ErrConfig, target)
	}
	logits, truth := m.rawLogits(examples)
	k := len(m.labels)
	nll := func(t float64) float64 { return meanNLL(logits, truth, k, t) }
	loss := func(t float64) float64 { return brier(scoredOf(logits, truth, k, t)) }

	// Golden-section search on the log of the temperature, over which the
	// loss has a single minimum in practice.
	lo, hi := math.Log(0.02), math.Log(50)
	phi := (math.Sqrt(5) - 1) / 2
	a, b := hi-phi*(hi-lo), lo+phi*(hi-lo)
	fa, fb := loss(math.Exp(a)), loss(math.Exp(b))
	for range 40 {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - phi*(hi-lo)
			fa = loss(math.Exp(a))
		} else {
			lo, a, fa = a, b, fb
			b = lo + phi*(hi-lo)
			fb = loss(math.Exp(b))
		}
	}
	c := Calibration{Temperature: math.Exp((lo + hi) / 2), Target: target}
	c.BrierBefore, c.BrierAfter = loss(1), loss(c.Temperature)
	if c.BrierAfter > c.BrierBefore {
		c.Temperature, c.BrierAfter = 1, c.BrierBefore
	}
	c.NLLBefore, c.NLLAfter = nll(1), nll(c.Temperature)
	c.ECEBefore = eceOf(logits, truth, k, 1)
	c.ECEAfter = eceOf(logits, truth, k, c.Temperature)
	m.temperature = c.Temperature

	s := scoredOf(logits, truth, k, c.Temperature)
	c.Threshold, c.Coverage = threshold(s, target)
	m.threshold = c.Threshold
	m.version = m.digestVersion()
	return c, nil
}

// rawLogits returns the logits of every example at temperature 1, one row
// of len(Labels) per example, and the index of each example's label, -1
// for a label the model does not know or a text without words.
func (m *Model) rawLogits(examples []Example) ([]float64, []int) {
	k := len(m.labels)
	index := make(map[string]int, k)
	for i, l := range m.labels {
		index[l] = i
	}
	logits := make([]float64, len(examples)*k)
	truth := make([]int, len(examples))
	s := m.getScratch()
	defer m.scratch.Put(s)
	for i, e := range examples {
		y, ok := index[e.Label]
		if !ok {
			y = -1
		}
		truth[i] = y
		tokenize(e.Text, &s.toks)
		if s.toks.len() == 0 {
			truth[i] = -1
			continue
		}
		m.spec.featurize(&s.toks, &s.feats)
		m.logits(&s.feats, s, logits[i*k:(i+1)*k])
	}
	return logits, truth
}

// meanNLL returns the mean negative log-likelihood of the true classes at
// temperature t; an unknown truth costs the log of the number of classes.
func meanNLL(logits []float64, truth []int, k int, t float64) float64 {
	sum := 0.0
	for i, y := range truth {
		if y < 0 {
			sum += math.Log(float64(k))
			continue
		}
		row := logits[i*k : (i+1)*k]
		top := slices.Max(row)
		z := 0.0
		for _, v := range row {
			z += math.Exp((v - top) / t)
		}
		sum += math.Log(z) - (row[y]-top)/t
	}
	return sum / float64(len(truth))
}

// brier returns the mean of (confidence - correct)^2 over s.
func brier(s []scored) float64 {
	sum := 0.0
	for _, x := range s {
		d := x.conf
		if x.correct {
			d--
		}
		sum += d * d
	}
	return sum / float64(max(len(s), 1))
}

// scoredOf returns the confidence and correctness of the argmax of every
// row of logits at temperature t.
func scoredOf(logits []float64, truth []int, k int, t float64) []scored {
	s := make([]scored, len(truth))
	probs := make([]float64, k)
	for i, y := range truth {
		copy(probs, logits[i*k:(i+1)*k])
		best := softmaxInPlace(probs, t)
		s[i] = scored{probs[best], best == y}
	}
	return s
}

func eceOf(logits []float64, truth []int, k int, t float64) float64 {
	s := scoredOf(logits, truth, k, t)
	conf := make([]float64, len(s))
	correct := make([]bool, len(s))
	for i := range s {
		conf[i], correct[i] = s[i].conf, s[i].correct
	}
	return ECE(conf, correct)
}
