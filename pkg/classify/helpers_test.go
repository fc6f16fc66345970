package classify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// task describes a generated classification task: every text mixes filler
// words shared by all classes, drawn with Zipf's law as in natural text,
// with keywords of its class.
type task struct {
	classes  int
	keywords int     // keywords per class
	filler   int     // size of the shared filler vocabulary
	words    [2]int  // fewest and most words of a text
	noise    float64 // share of examples given a random label
	wordLen  [2]int  // fewest and most letters of a word; zero: 3 to 8
}

// randomWord returns a lower-case word of lo to hi letters.
func randomWord(rng *rand.Rand, lo, hi int) string {
	n := lo + rng.IntN(hi-lo+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rng.IntN(26))
	}
	return string(b)
}

// generate returns n examples of the task, the same for the same seed.
// The vocabulary depends only on vocabSeed, so that training and test sets
// drawn with different seeds share it.
func (tk task) generate(n int, vocabSeed, seed uint64) []Example {
	lo, hi := 3, 8
	if tk.wordLen[1] > 0 {
		lo, hi = tk.wordLen[0], tk.wordLen[1]
	}
	vr := rand.New(rand.NewPCG(vocabSeed, 7))
	filler := make([]string, tk.filler)
	for i := range filler {
		filler[i] = randomWord(vr, lo, hi)
	}
	keys := make([][]string, tk.classes)
	for c := range keys {
		for range tk.keywords {
			keys[c] = append(keys[c], randomWord(vr, lo, hi))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 11))
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(filler)-1))
	out := make([]Example, n)
	for i := range out {
		c := rng.IntN(tk.classes)
		nw := tk.words[0] + rng.IntN(tk.words[1]-tk.words[0]+1)
		words := make([]string, nw)
		for j := range words {
			words[j] = filler[zipf.Uint64()]
		}
		for range 2 {
			words[rng.IntN(nw)] = keys[c][rng.IntN(len(keys[c]))]
		}
		label := c
		if rng.Float64() < tk.noise {
			label = rng.IntN(tk.classes)
		}
		out[i] = Example{Text: strings.Join(words, " "), Label: fmt.Sprintf("class_%02d", label)}
	}
	return out
}

// smallConfig is a configuration that trains in a fraction of a second.
func smallConfig() Config {
	return Config{Buckets: 1 << 14, Dim: 16, Epochs: 10, Models: 2, Seed: 3}
}

// trainSmall trains a model on examples with cfg, failing the test on error.
func trainSmall(t testing.TB, examples []Example, cfg Config) *Model {
	t.Helper()
	m, err := Train(context.Background(), examples, cfg)
	if err != nil {
		t.Fatalf("Train: %v", err)
	}
	return m
}

// accuracy returns the share of examples m labels right.
func accuracy(m *Model, examples []Example) float64 {
	hits := 0
	for _, e := range examples {
		if m.Predict(e.Text).Label == e.Label {
			hits++
		}
	}
	return float64(hits) / float64(len(examples))
}
