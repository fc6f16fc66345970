package classify

import (
	"math"
	"sync"
)

// seenBits is the size of the set of word hashes seen in training. At the
// vocabulary of a few ten thousand words a word never seen is taken for a
// known one about one time in thirty.
const seenBits = 1 << 20

// member is one model of the ensemble as trained: an embedding table of
// buckets rows, dim wide, summed over the weighted features of a text, then
// a linear layer to the logits.
type member struct {
	in   table
	out  []float32 // classes*dim, row-major
	bias []float32 // classes
}

// compiled is the ensemble folded into one table: row b holds the logits
// that bucket b adds, averaged over the members, padded to a multiple of 8.
// As the logits are linear in the rows, the fold predicts the same as the
// members, with one row per feature and no output layer; Train folds the
// ensemble when its rows are no wider than all members' rows together.
type compiled struct {
	rows table
	bias []float32 // classes: the mean of the members' biases
}

// Model is a trained classifier. Its methods are safe for concurrent use.
// Calibrate, SetThreshold and SetVersion change it and must not run while
// it is in use.
type Model struct {
	cfg    Config
	spec   featureSpec
	labels []string
	dim    int
	// Exactly one of members and folded holds the parameters.
	members []member
	folded  *compiled
	seen    []uint64 // bit set of word hashes seen in training, seenBits long
	// weights holds the weight of every bucket in the sum of a text's
	// rows: zero for a bucket no training feature fell in.
	weights []float32

	// temperature divides the averaged logits before the softmax; 1 until
	// Calibrate sets it.
	temperature float64
	// threshold is the confidence below which a prediction is to be
	// escalated; 0 until Calibrate sets it.
	threshold float64
	// minKnown is the share of words seen in training below which a text is
	// out of scope.
	minKnown float64
	// version names the model in enriched records.
	version string

	scratch sync.Pool // of *scratch
}

// scratch is the per-call working memory of a prediction.
type scratch struct {
	toks   tokens
	feats  featureSet
	hidden []float32
	chars  []float32 // the character n-grams' part of hidden
	logits []float64
}

// Prediction is the verdict of a model on one text.
type Prediction struct {
	// Label is the most probable class; empty when NoText.
	Label string
	// Class is the index of Label in Labels; -1 when NoText.
	Class int
	// Confidence is the calibrated probability of Label.
	Confidence float64
	// NoText is true when the text holds no word at all.
	NoText bool
	// OutOfScope is true when most words of the text were never seen in
	// training, so the label says little.
	OutOfScope bool
	// Known is the share of the words of the text seen in training.
	Known float64
}

// Labels returns the classes of the model, sorted; a Prediction's Class
// indexes it. The caller must not change it.
func (m *Model) Labels() []string { return m.labels }

// Config returns the hyperparameters the model was trained with, defaults
// filled in; Threads is zero, as it has no part in the model.
func (m *Model) Config() Config { return m.cfg }

// Version returns the version of the model: a name derived from its
// contents unless SetVersion gave another.
func (m *Model) Version() string { return m.version }

// Threshold returns the confidence below which a prediction should be
// escalated, as Calibrate or SetThreshold left it.
func (m *Model) Threshold() float64 { return m.threshold }

// Temperature returns the temperature of the calibrated softmax.
func (m *Model) Temperature() float64 { return m.temperature }

// Quantized reports whether the embedding table is stored in 8 bits.
func (m *Model) Quantized() bool {
	if m.folded != nil {
		return m.folded.rows.quantized()
	}
	return len(m.members) > 0 && m.members[0].in.quantized()
}

// SetThreshold sets the confidence below which predictions are escalated.
// It must not be called while the model is in use.
func (m *Model) SetThreshold(t float64) { m.threshold = t }

// SetVersion sets the version written to enriched records. It must not be
// called while the model is in use.
func (m *Model) SetVersion(v string) { m.version = v }

// newModel returns a model with no members, ready to be filled by Train or
// by the file reader.
func newModel(cfg Config, labels []string) *Model {
	return &Model{
		cfg:         cfg,
		spec:        cfg.spec(),
		labels:      labels,
		dim:         cfg.Dim,
		seen:        make([]uint64, seenBits/64),
		temperature: 1,
		minKnown:    0.5,
	}
}

func (m *Model) getScratch() *scratch {
	if s, ok := m.scratch.Get().(*scratch); ok {
		return s
	}
	width := m.dim
	if m.folded != nil {
		width = m.folded.rows.width
	}
	return &scratch{
		hidden: make([]float32, width),
		chars:  make([]float32, width),
		logits: make([]float64, len(m.labels)),
	}
}

// seenIndex returns the bit of word hash h in the seen set.
func seenIndex(h uint32) uint32 { return fmix32(h^0x5bd1e995) >> (32 - 20) }

func (m *Model) markSeen(h uint32) {
	i := seenIndex(h)
	m.seen[i/64] |= 1 << (i % 64)
}

func (m *Model) isSeen(h uint32) bool {
	i := seenIndex(h)
	return m.seen[i/64]&(1<<(i%64)) != 0
}

// Predict classifies text. It does not allocate once the model is warm.
func (m *Model) Predict(text string) Prediction {
	s := m.getScratch()
	defer m.scratch.Put(s)
	return m.predict(text, s, nil)
}

// PredictProbs classifies text and writes the calibrated probability of
// every class, in the order of Labels, to probs, which must be that long.
func (m *Model) PredictProbs(text string, probs []float64) Prediction {
	s := m.getScratch()
	defer m.scratch.Put(s)
	return m.predict(text, s, probs)
}

func (m *Model) predict(text string, s *scratch, probs []float64) Prediction {
	tokenize(text, &s.toks)
	if s.toks.len() == 0 {
		for i := range probs {
			probs[i] = 0
		}
		return Prediction{Class: -1, NoText: true}
	}
	m.spec.featurize(&s.toks, &s.feats)
	known := 0
	for _, h := range s.feats.words {
		if m.isSeen(h) {
			known++
		}
	}
	m.logits(&s.feats, s, s.logits)
	best := softmaxInPlace(s.logits, m.temperature)
	p := Prediction{
		Label:      m.labels[best],
		Class:      best,
		Confidence: s.logits[best],
		Known:      float64(known) / float64(len(s.feats.words)),
	}
	p.OutOfScope = p.Known < m.minKnown
	copy(probs, s.logits)
	return p
}

// logits writes to out the logits of the features, averaged over the
// members.
func (m *Model) logits(fs *featureSet, s *scratch, out []float64) {
	if f := m.folded; f != nil {
		m.embed(&f.rows, fs, s.hidden, s.chars)
		for k := range out {
			out[k] = float64(s.hidden[k] + f.bias[k])
		}
		return
	}
	clear(out)
	for mi := range m.members {
		mb := &m.members[mi]
		m.embed(&mb.in, fs, s.hidden, s.chars)
		for k := range out {
			out[k] += float64(dot(mb.out[k*m.dim:(k+1)*m.dim], s.hidden) + mb.bias[k])
		}
	}
	if len(m.members) > 1 {
		inv := 1 / float64(len(m.members))
		for k := range out {
			out[k] *= inv
		}
	}
}

// embed writes to h the rows of t summed over the features, weighted as
// weigh says, and uses chars, as long as h, as scratch. It gathers the two
// groups of features apart and normalises each by the sum of its weights.
func (m *Model) embed(t *table, fs *featureSet, h, chars []float32) {
	clear(h)
	sw := t.gatherWeighted(h, m.weights, fs.buckets[:fs.nword])
	if fs.nword == len(fs.buckets) {
		if sw > 0 {
			scale(h, 1/sw)
		}
		return
	}
	clear(chars)
	sc := t.gatherWeighted(chars, m.weights, fs.buckets[fs.nword:])
	var a, b float32
	if sw > 0 {
		a = (1 - m.cfg.charWeight()) / sw
	}
	if sc > 0 {
		b = m.cfg.charWeight() / sc
	}
	chars = chars[:len(h)]
	for i := range h {
		h[i] = a*h[i] + b*chars[i]
	}
}

// fold returns the members folded into one table when its rows, the
// classes rounded up to a multiple of 8, are no wider than the rows of all
// members together, and nil otherwise. Rows of zero weight stay zero.
func (m *Model) fold() *compiled {
	k := len(m.labels)
	width := (k + 7) &^ 7
	if width > m.dim*len(m.members) {
		return nil
	}
	f := &compiled{rows: newTable(m.cfg.Buckets, width), bias: make([]float32, k)}
	inv := 1 / float32(len(m.members))
	for _, mb := range m.members {
		for c := range k {
			f.bias[c] += mb.bias[c] * inv
		}
	}
	for b := range m.cfg.Buckets {
		if m.weights[b] == 0 {
			continue
		}
		row := f.rows.row(b)
		for _, mb := range m.members {
			in := mb.in.row(b)
			for c := range k {
				row[c] += dot(mb.out[c*m.dim:(c+1)*m.dim], in) * inv
			}
		}
	}
	return f
}

// Quantize returns a copy of m whose embedding table, or folded table,
// holds 8-bit integers with one scale per row: a quarter of the memory, at
// a small cost in accuracy. A model already quantised is returned as it is.
func (m *Model) Quantize() *Model {
	if m.Quantized() {
		return m
	}
	q := newModel(m.cfg, m.labels)
	q.dim = m.dim
	q.seen = m.seen
	q.weights = m.weights
	q.temperature, q.threshold, q.minKnown = m.temperature, m.threshold, m.minKnown
	if m.folded != nil {
		q.folded = &compiled{rows: m.folded.rows.quantize(), bias: m.folded.bias}
	}
	for _, mb := range m.members {
		q.members = append(q.members, member{in: mb.in.quantize(), out: mb.out, bias: mb.bias})
	}
	q.version = q.digestVersion()
	return q
}

// softmaxInPlace turns logits divided by temperature into probabilities,
// those below 2e-9 of the largest set to 0, and returns the index of the
// largest.
func softmaxInPlace(v []float64, temperature float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	top := v[best]
	inv := 1 / temperature
	sum := 0.0
	for i := range v {
		// Classes more than 20 below the top weigh less than 2e-9 each:
		// they are taken as 0, which spares most of the exponentials.
		e := 0.0
		if x := (v[i] - top) * inv; x > -20 {
			e = expNeg(x)
		}
		v[i] = e
		sum += e
	}
	inv = 1 / sum
	for i := range v {
		v[i] *= inv
	}
	return best
}

// expNeg returns e**x for x <= 0 within a relative error of about 1e-6,
// several times faster than math.Exp; below -87 it returns 0. It computes
// 2**(x*log2(e)) as a power of two times a polynomial of the fraction.
func expNeg(x float64) float64 {
	if x < -87 {
		return 0
	}
	t := x * math.Log2E
	n := math.Floor(t)
	f := t - n // in [0, 1)
	// 2**f by its Taylor series in f*ln2 to the 7th power.
	y := f * math.Ln2
	p := 1 + y*(1+y*(1.0/2+y*(1.0/6+y*(1.0/24+y*(1.0/120+y*(1.0/720+y*(1.0/5040)))))))
	return math.Float64frombits(math.Float64bits(p) + uint64(int64(n))<<52)
}
