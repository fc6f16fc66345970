package classify

import (
	"fmt"
	"runtime"
)

// Config holds the hyperparameters of training. The zero value of a field
// means its default; WithDefaults fills them in and Validate checks ranges.
type Config struct {
	// Buckets is the number of rows of the embedding table that features
	// are hashed into. Default 131072.
	Buckets int
	// Dim is the length of an embedding. Default 48.
	Dim int
	// Epochs is the number of passes over the training examples. Default:
	// enough passes for about 300,000 updates, at least 5 and at most 30,
	// so that small data sets get more passes than large ones.
	Epochs int
	// LR is the learning rate at the start; it decays linearly to zero over
	// the run. Default 0.5.
	LR float64
	// WordNgrams is the longest run of words hashed as one feature: 1 words
	// only, 2 words and bigrams. Default 2.
	WordNgrams int
	// MinN and MaxN are the shortest and longest character n-grams taken
	// from each word with its boundaries. MaxN -1 turns them off. Defaults
	// 3 and 5.
	MinN, MaxN int
	// LeadWords is the number of words at the start of a text that are
	// features a second time, in a hash space of their own: the opening of
	// a message, its subject line or question word, says more about its
	// intent than the rest. Default 6; a negative value means none.
	LeadWords int
	// CharWeight is the share of the character n-grams in the embedding of
	// a text; words and word n-grams have the rest. Each share is spread
	// over its features so that a long text's many character n-grams do
	// not drown its words. Default 0.5; a negative value means 0.
	CharWeight float64
	// IDFPower weighs each feature by its inverse document frequency
	// ln((1+n)/(1+df))+1 raised to this power: 0 plain counts, 1 idf,
	// 2 stronger. Default 1; a negative value means 0.
	IDFPower float64
	// Models is the number of members of the ensemble; each is trained on
	// its own goroutine from its own seed and their logits are averaged.
	// Default 2.
	Models int
	// Smoothing is the label smoothing: the share of the target
	// probability spread evenly over all classes. Default 0.
	Smoothing float64
	// Seed makes training reproducible: the same examples in the same
	// order, Config and Seed give the same model, byte for byte, on the
	// same kind of processor. Default 1.
	Seed uint64
	// Threads bounds the goroutines that train members at once. It changes
	// the speed of training, never its result. Default GOMAXPROCS.
	Threads int
}

// updatesPerRun is the number of SGD updates the default Epochs aims at.
const updatesPerRun = 300_000

// WithDefaults returns c with every zero field set to its default; n is
// the number of training examples, which sets the default Epochs.
func (c Config) WithDefaults(n int) Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Buckets, 1<<17)
	def(&c.Dim, 48)
	def(&c.Epochs, min(30, max(5, (updatesPerRun+max(n, 1)-1)/max(n, 1))))
	def(&c.WordNgrams, 2)
	def(&c.MinN, 3)
	def(&c.MaxN, 5)
	def(&c.LeadWords, 6)
	def(&c.Models, 2)
	def(&c.Threads, runtime.GOMAXPROCS(0))
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	deff(&c.LR, 0.5)
	deff(&c.CharWeight, 0.5)
	deff(&c.IDFPower, 1)
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Validate returns an error wrapping ErrConfig that names the first field
// out of its range. It expects the defaults filled in.
func (c Config) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("%w: %s %v: want %s", ErrConfig, name, v, want)
	}
	switch {
	case c.Buckets < 1 || c.Buckets > 1<<26:
		return bad("buckets", c.Buckets, "1 to 67108864")
	case c.Dim < 1 || c.Dim > 1024:
		return bad("dim", c.Dim, "1 to 1024")
	case c.Epochs < 1 || c.Epochs > 10000:
		return bad("epochs", c.Epochs, "1 to 10000")
	case !(c.LR > 0 && c.LR <= 10):
		return bad("learning rate", c.LR, "in (0, 10]")
	case c.WordNgrams < 1 || c.WordNgrams > 5:
		return bad("word n-grams", c.WordNgrams, "1 to 5")
	case c.MaxN != -1 && (c.MinN < 1 || c.MaxN < c.MinN || c.MaxN > 8):
		return bad("character n-grams", fmt.Sprintf("%d-%d", c.MinN, c.MaxN),
			"1 <= min <= max <= 8, or max -1 for none")
	case !(c.CharWeight < 1):
		return bad("character n-gram weight", c.CharWeight, "below 1")
	case !(c.IDFPower <= 4):
		return bad("idf power", c.IDFPower, "at most 4")
	case c.LeadWords > 64:
		return bad("lead words", c.LeadWords, "at most 64")
	case c.Models < 1 || c.Models > 16:
		return bad("models", c.Models, "1 to 16")
	case !(c.Smoothing >= 0 && c.Smoothing < 1):
		return bad("label smoothing", c.Smoothing, "in [0, 1)")
	case c.Threads < 1:
		return bad("threads", c.Threads, "at least 1")
	}
	return nil
}

// charWeight returns CharWeight, a negative value read as 0.
func (c Config) charWeight() float32 { return float32(max(0, c.CharWeight)) }

// idfPower returns IDFPower, a negative value read as 0.
func (c Config) idfPower() float64 { return max(0, c.IDFPower) }

// spec returns the feature spec of c, which must have its defaults.
func (c Config) spec() featureSpec {
	s := featureSpec{buckets: uint32(c.Buckets), wordNgrams: c.WordNgrams,
		lead: max(0, c.LeadWords)}
	if c.MaxN > 0 {
		s.minn, s.maxn = c.MinN, c.MaxN
	}
	return s
}
