package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/streamtriage/triage/pkg/classify"
)

// demoClassifier trains the demo's text classifier on corpus, as "triage
// train" would (a tenth held out to calibrate it and set the threshold for
// 97% accuracy) but with one model of 10 epochs, which the demo's closed
// world needs no more than, writes the model under dir and returns its
// path for the worker to load.
func demoClassifier(ctx context.Context, corpus []labelled, dir string) (string, error) {
	examples := make([]classify.Example, len(corpus))
	for i, l := range corpus {
		examples[i] = classify.Example{Text: l.Text, Label: l.Label}
	}
	if err := classify.CheckClasses(examples); err != nil {
		return "", err
	}
	train, valid := classify.Split(examples, 0.1, 1)
	m, err := classify.Train(ctx, train, classify.Config{Seed: 1, Models: 1, Epochs: 10})
	if err != nil {
		return "", err
	}
	if _, err := m.Calibrate(valid, 0.97); err != nil {
		return "", fmt.Errorf("unable to calibrate: %w", err)
	}
	path := filepath.Join(dir, "demo.model")
	if _, err := m.Save(path); err != nil {
		return "", err
	}
	return path, nil
}
