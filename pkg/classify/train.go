package classify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Example is one labelled text.
type Example struct {
	Text  string
	Label string
}

// corpus is a training set turned into features once for all epochs: the
// features of example i are feats[offs[i]:offs[i+1]], with the weights w
// at the same offsets.
type corpus struct {
	feats  []uint32
	w      []float32
	offs   []int
	labels []int
}

func (c *corpus) len() int { return len(c.labels) }

func (c *corpus) features(i int) ([]uint32, []float32) {
	return c.feats[c.offs[i]:c.offs[i+1]], c.w[c.offs[i]:c.offs[i+1]]
}

// labelsOf returns the sorted distinct labels of examples.
func labelsOf(examples []Example) []string {
	set := make(map[string]struct{})
	for _, e := range examples {
		set[e.Label] = struct{}{}
	}
	labels := make([]string, 0, len(set))
	for l := range set {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	return labels
}

// Train fits a model to examples. It returns an error wrapping ErrConfig
// when cfg is out of range, ErrData when the examples have fewer than two
// classes, and ctx.Err() when ctx ends first. The members of the ensemble
// train on up to cfg.Threads goroutines at once; the model depends only on
// the examples, their order and cfg, not on Threads or on scheduling.
// The model is not calibrated: its temperature is 1 and its threshold 0
// until Calibrate.
func Train(ctx context.Context, examples []Example, cfg Config) (*Model, error) {
	cfg = cfg.WithDefaults(len(examples))
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	labels := labelsOf(examples)
	if len(labels) < 2 {
		return nil, fmt.Errorf("%w: %d classes, want at least 2", ErrData, len(labels))
	}
	m := newModel(cfg, labels)
	data := m.corpus(examples)

	m.members = make([]member, cfg.Models)
	errs := make([]error, cfg.Models)
	sem := make(chan struct{}, cfg.Threads)
	var wg sync.WaitGroup
	for i := range m.members {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m.members[i], errs[i] = trainMember(ctx, data, cfg, len(labels),
				memberSeed(cfg.Seed, i))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if f := m.fold(); f != nil {
		m.folded, m.members = f, nil
	}
	m.cfg.Threads = 0
	m.version = m.digestVersion()
	return m, nil
}

// memberSeed derives the seed of member i from the seed of the run.
func memberSeed(seed uint64, i int) uint64 {
	return seed*0x9e3779b97f4a7c15 + uint64(i+1)*0xbf58476d1ce4e5b9
}

// corpus turns examples into features, marks their words as seen and sets
// the bucket weights of m.
func (m *Model) corpus(examples []Example) *corpus {
	index := make(map[string]int, len(m.labels))
	for i, l := range m.labels {
		index[l] = i
	}
	c := &corpus{offs: make([]int, 1, len(examples)+1), labels: make([]int, len(examples))}
	nword := make([]int, len(examples))
	var (
		toks  tokens
		feats featureSet
	)
	for i, e := range examples {
		tokenize(e.Text, &toks)
		m.spec.featurize(&toks, &feats)
		for _, h := range feats.words {
			m.markSeen(h)
		}
		c.feats = append(c.feats, feats.buckets...)
		c.offs = append(c.offs, len(c.feats))
		c.labels[i] = index[e.Label]
		nword[i] = feats.nword
	}
	m.weights = bucketWeights(c, m.cfg.Buckets, m.cfg.idfPower())
	c.w = make([]float32, 0, len(c.feats))
	var w []float32
	for i := range c.len() {
		w = m.weigh(c.feats[c.offs[i]:c.offs[i+1]], nword[i], w)
		c.w = append(c.w, w...)
	}
	return c
}

// bucketWeights returns the weight of every bucket: zero for a bucket no
// feature of c falls in, so that features never seen in training take no
// share of a text's embedding; for the others the smoothed inverse document
// frequency ln((1+n)/(1+df))+1 raised to pow.
func bucketWeights(c *corpus, buckets int, pow float64) []float32 {
	df := make([]int32, buckets)
	last := make([]int32, buckets)
	for i := range c.len() {
		for _, b := range c.feats[c.offs[i]:c.offs[i+1]] {
			if last[b] != int32(i+1) {
				last[b] = int32(i + 1)
				df[b]++
			}
		}
	}
	w := make([]float32, buckets)
	n := float64(c.len())
	for b, d := range df {
		if d > 0 {
			w[b] = float32(math.Pow(math.Log((1+n)/(1+float64(d)))+1, pow))
		}
	}
	return w
}

// trainMember runs SGD with a linearly decaying learning rate over data
// and returns the member it fits. The embedding table starts at zero, so a
// bucket no training feature falls in stays zero; the output layer starts
// small and random, which is what breaks the symmetry.
func trainMember(ctx context.Context, data *corpus, cfg Config, classes int,
	seed uint64) (member, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x94d049bb133111eb))
	dim := cfg.Dim
	mb := member{
		in:   newTable(cfg.Buckets, dim),
		out:  make([]float32, classes*dim),
		bias: make([]float32, classes),
	}
	r := float32(1 / math.Sqrt(float64(dim)))
	for i := range mb.out {
		mb.out[i] = (2*rng.Float32() - 1) * r
	}

	smooth := float32(cfg.Smoothing)
	floor := smooth / float32(classes)
	hidden := make([]float32, dim)
	grad := make([]float32, dim)
	probs := make([]float64, classes)
	order := make([]int, data.len())
	for i := range order {
		order[i] = i
	}
	total := float64(cfg.Epochs * data.len())
	step := 0
	for range cfg.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, ex := range order {
			if step%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return member{}, err
				}
			}
			lr := float32(cfg.LR * (1 - float64(step)/total))
			step++
			feats, w := data.features(ex)
			if len(feats) == 0 {
				continue
			}

			// Forward: the weighted sum of the rows, then the softmax.
			clear(hidden)
			mb.in.gather(hidden, feats, w)
			for k := range probs {
				probs[k] = float64(dot(mb.out[k*dim:(k+1)*dim], hidden) + mb.bias[k])
			}
			softmaxInPlace(probs, 1)

			// Backward: the output layer moves against the gradient of the
			// cross-entropy, and grad gathers what the rows must move by,
			// computed from the output layer before it moved.
			clear(grad)
			y := data.labels[ex]
			for k := range probs {
				g := float32(probs[k]) - floor
				if k == y {
					g -= 1 - smooth
				}
				row := mb.out[k*dim : (k+1)*dim]
				axpy(grad, row, g)
				axpy(row, hidden, -lr*g)
				mb.bias[k] -= lr * g
			}
			scatter(mb.in.f, feats, w, grad, -lr)
		}
	}
	return mb, nil
}

// weigh writes to w, reallocated when too short, the weight of every
// feature in the sum of a text's rows: its bucket weight, scaled so that the
// weights of the words, word n-grams and lead words, feats[:nword], add up to
// 1-CharWeight and those of the character n-grams to CharWeight. A text
// without character n-grams gives its words the whole weight.
func (m *Model) weigh(feats []uint32, nword int, w []float32) []float32 {
	if cap(w) < len(feats) {
		w = make([]float32, len(feats), 2*len(feats))
	}
	w = w[:len(feats)]
	for i, f := range feats {
		w[i] = m.weights[f]
	}
	if nword == len(feats) {
		normalize(w, 1)
		return w
	}
	cw := m.cfg.charWeight()
	normalize(w[:nword], 1-cw)
	normalize(w[nword:], cw)
	return w
}

// normalize scales w to add up to total, unless it adds up to zero.
func normalize(w []float32, total float32) {
	var sum float32
	for _, v := range w {
		sum += v
	}
	if sum > 0 {
		scale(w, total/sum)
	}
}
