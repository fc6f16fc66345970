package classify

import (
	"fmt"
	"math/rand/v2"
)

// MinClassExamples is the fewest examples a class may have in a training
// file: one to train on and one to validate with.
const MinClassExamples = 2

// CheckClasses returns an error wrapping ErrData when examples have fewer
// than two classes or a class has fewer than MinClassExamples examples.
// The error names the class and the first row (counting from 1) that holds
// it, row i being examples[i-1].
func CheckClasses(examples []Example) error {
	count := make(map[string]int)
	first := make(map[string]int)
	for i, e := range examples {
		if _, ok := first[e.Label]; !ok {
			first[e.Label] = i + 1
		}
		count[e.Label]++
	}
	if len(count) < 2 {
		return fmt.Errorf("%w: %d classes, want at least 2", ErrData, len(count))
	}
	for _, l := range labelsOf(examples) {
		if count[l] < MinClassExamples {
			return fmt.Errorf("%w: class %q (first at example %d) has %d examples, "+
				"want at least %d", ErrData, l, first[l], count[l], MinClassExamples)
		}
	}
	return nil
}

// Split divides examples into a training and a validation set: from every
// class it draws round(fraction*n) examples, at least one and at most n-1,
// for validation. The draw depends only on seed and the examples; both sets
// keep the order of examples.
func Split(examples []Example, fraction float64, seed uint64) (train, valid []Example) {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	byClass := make(map[string][]int)
	for i, e := range examples {
		byClass[e.Label] = append(byClass[e.Label], i)
	}
	held := make([]bool, len(examples))
	for _, l := range labelsOf(examples) {
		idx := byClass[l]
		n := int(fraction*float64(len(idx)) + 0.5)
		n = max(1, min(n, len(idx)-1))
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx[:n] {
			held[i] = true
		}
	}
	for i, e := range examples {
		if held[i] {
			valid = append(valid, e)
		} else {
			train = append(train, e)
		}
	}
	return train, valid
}
