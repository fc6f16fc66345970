package classify

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

var easyTask = task{classes: 6, keywords: 4, filler: 300, words: [2]int{5, 12}}

func TestTrainLearnsAGeneratedTask(t *testing.T) {
	train := easyTask.generate(1500, 1, 1)
	test := easyTask.generate(500, 1, 2)
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"a folded ensemble", smallConfig()},
		{"an ensemble kept apart", func() Config { c := smallConfig(); c.Dim = 1; return c }()},
		{"words only", func() Config { c := smallConfig(); c.MaxN = -1; return c }()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := trainSmall(t, train, tt.cfg)
			if got := accuracy(m, test); got < 0.95 {
				t.Errorf("got accuracy %.3f on held-out examples, want at least 0.95", got)
			}
			if got := accuracy(m, train); got < 0.95 {
				t.Errorf("got accuracy %.3f on the training examples, want at least 0.95", got)
			}
		})
	}
}

func TestTrainFoldsOnlyWhenNarrower(t *testing.T) {
	train := easyTask.generate(300, 1, 1)
	cfg := smallConfig()
	if m := trainSmall(t, train, cfg); m.folded == nil {
		t.Errorf("6 classes, 2 members of 16: got the members kept, want them folded")
	}
	cfg.Dim = 1
	if m := trainSmall(t, train, cfg); m.folded != nil || len(m.members) != 2 {
		t.Errorf("6 classes, 2 members of 1: got folded %v, want 2 members kept", m.folded != nil)
	}
}

func TestFoldingKeepsPredictions(t *testing.T) {
	train := easyTask.generate(600, 1, 1)
	test := easyTask.generate(200, 1, 2)
	cfg := smallConfig()
	m := trainSmall(t, train, cfg)
	// Train the same members again, and keep them apart.
	cfg = cfg.WithDefaults(len(train))
	mm := newModel(cfg, m.labels)
	data := mm.corpus(train)
	for i := range cfg.Models {
		mb, err := trainMember(context.Background(), data, cfg, len(m.labels),
			memberSeed(cfg.Seed, i))
		if err != nil {
			t.Fatal(err)
		}
		mm.members = append(mm.members, mb)
	}
	probsA := make([]float64, len(m.labels))
	probsB := make([]float64, len(m.labels))
	for _, e := range test {
		a := m.PredictProbs(e.Text, probsA)
		b := mm.PredictProbs(e.Text, probsB)
		if a.Class != b.Class {
			t.Fatalf("%q: folded model says %s, members say %s", e.Text, a.Label, b.Label)
		}
		for k := range probsA {
			if d := probsA[k] - probsB[k]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("%q: class %d: folded %.6f, members %.6f", e.Text, k, probsA[k], probsB[k])
			}
		}
	}
}

func TestSameSeedSameModel(t *testing.T) {
	train := easyTask.generate(800, 1, 1)
	cfg := smallConfig()
	a := trainSmall(t, train, cfg).Marshal()
	cfg.Threads = 1
	b := trainSmall(t, train, cfg).Marshal()
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with seed %d, on 2 and 1 threads, gave different model files",
			cfg.Seed)
	}
	cfg.Seed++
	if c := trainSmall(t, train, cfg).Marshal(); bytes.Equal(a, c) {
		t.Errorf("seeds %d and %d gave the same model file, want different ones",
			cfg.Seed-1, cfg.Seed)
	}
}

func TestTrainRefusesBadInput(t *testing.T) {
	one := []Example{{"a b", "x"}, {"c d", "x"}}
	if _, err := Train(context.Background(), one, smallConfig()); !errors.Is(err, ErrData) {
		t.Errorf("one class: got error %v, want ErrData", err)
	}
	cfg := smallConfig()
	cfg.Dim = -3
	two := []Example{{"a b", "x"}, {"c d", "y"}}
	if _, err := Train(context.Background(), two, cfg); !errors.Is(err, ErrConfig) {
		t.Errorf("dim -3: got error %v, want ErrConfig", err)
	}
}

func TestTrainStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Train(ctx, easyTask.generate(200, 1, 1), smallConfig())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
}

func TestDefaultEpochsFollowTheDataSize(t *testing.T) {
	for _, tt := range []struct{ n, want int }{
		{100, 30}, {10_000, 30}, {30_000, 10}, {1_000_000, 5},
	} {
		if got := (Config{}).WithDefaults(tt.n).Epochs; got != tt.want {
			t.Errorf("%d examples: got %d epochs, want %d", tt.n, got, tt.want)
		}
	}
}
