package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/streamtriage/triage/pkg/classify"
)

func runEvalClassifier(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		modelPath, data string
		cols            classify.Columns
		pairs           int
		timing          time.Duration
	)
	fs := flag.NewFlagSet("eval classifier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&modelPath, "model", "", "model file written by triage train")
	fs.StringVar(&data, "data", "", "labelled data: CSV with a header row, or JSON lines")
	fs.StringVar(&cols.Text, "text", "text", "name of the text column")
	fs.StringVar(&cols.Label, "label", "label", "name of the label column")
	fs.IntVar(&pairs, "pairs", 10, "most confused pairs to print")
	fs.DurationVar(&timing, "timing", 2*time.Second,
		"time spent measuring predict latency, at least one pass over the data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if modelPath == "" || data == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: triage eval classifier --model MODEL --data FILE [flags]")
		return errUsage
	}
	m, err := classify.Load(modelPath)
	if err != nil {
		return err
	}
	examples, err := readExamples(data, cols)
	if err != nil {
		return err
	}
	r := classify.Evaluate(m, examples)
	fmt.Fprintf(stdout, "model: %s, version %s, %d classes, quantized %v\n", modelPath,
		m.Version(), len(m.Labels()), m.Quantized())
	fmt.Fprintf(stdout, "examples: %d\n", r.Examples)
	fmt.Fprintf(stdout, "accuracy: %.4f\n", r.Accuracy)
	fmt.Fprintf(stdout, "macro-F1: %.4f\n", r.MacroF1)
	fmt.Fprintf(stdout, "expected calibration error: %.4f (temperature %.3f)\n", r.ECE,
		m.Temperature())
	fmt.Fprintf(stdout, "model threshold %.4f: keeps %.1f%% at accuracy %.4f; "+
		"%.1f%% out of scope\n",
		m.Threshold(), 100*r.Kept, r.KeptAccuracy, 100*r.OutOfScope)
	fmt.Fprintln(stdout, "coverage (share kept at the lowest threshold giving the accuracy):")
	for _, c := range r.Coverage {
		fmt.Fprintf(stdout, "  accuracy %.2f: threshold %.4f keeps %.1f%%\n", c.Target,
			c.Threshold, 100*c.Kept)
	}
	fmt.Fprintln(stdout, "most confused (truth -> predicted: count):")
	for _, c := range r.Confusions[:min(pairs, len(r.Confusions))] {
		fmt.Fprintf(stdout, "  %s -> %s: %d\n", c.Truth, c.Predicted, c.Count)
	}
	lat, err := measureLatency(ctx, m, examples, timing)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "predict latency on one goroutine: p50 %.2fµs p99 %.2fµs; "+
		"throughput %.0f predictions/s\n", lat.p50, lat.p99, lat.throughput)
	return nil
}

type latency struct {
	p50, p99   float64 // microseconds
	throughput float64 // predictions per second
}

// measureLatency times Predict on every example in turn on the calling
// goroutine, for at least one pass and about budget: each call alone for
// the percentiles, and whole passes for the throughput.
func measureLatency(ctx context.Context, m *classify.Model, examples []classify.Example,
	budget time.Duration) (latency, error) {
	var l latency
	if len(examples) == 0 {
		return l, nil
	}
	for _, e := range examples[:min(len(examples), 1000)] {
		m.Predict(e.Text) // warm the caches and the scratch pool
	}
	var times []time.Duration
	calls := 0
	var busy time.Duration
	deadline := time.Now().Add(budget)
	for pass := 0; pass == 0 || time.Now().Before(deadline); pass++ {
		if err := ctx.Err(); err != nil {
			return l, err
		}
		if pass%2 == 0 {
			for _, e := range examples {
				t0 := time.Now()
				m.Predict(e.Text)
				times = append(times, time.Since(t0))
			}
			continue
		}
		t0 := time.Now()
		for _, e := range examples {
			m.Predict(e.Text)
		}
		busy += time.Since(t0)
		calls += len(examples)
	}
	slices.Sort(times)
	us := func(q float64) float64 {
		return float64(times[min(len(times)-1, int(q*float64(len(times))))].Nanoseconds()) / 1e3
	}
	l.p50, l.p99 = us(0.50), us(0.99)
	if calls == 0 {
		var total time.Duration
		for _, t := range times {
			total += t
		}
		busy, calls = total, len(times)
	}
	l.throughput = float64(calls) / busy.Seconds()
	return l, nil
}
