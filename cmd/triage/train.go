package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/streamtriage/triage/pkg/classify"
)

// trainOpts are the flags of "triage train".
type trainOpts struct {
	data, out      string
	writeValid     string
	cols           classify.Columns
	validFraction  float64
	autotune       time.Duration
	targetAccuracy float64
	quantize       bool
	cfg            classify.Config
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o trainOpts
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", "", "training data: CSV with a header row, or JSON lines")
	fs.StringVar(&o.out, "out", "", "where to write the model file")
	fs.StringVar(&o.cols.Text, "text", "text", "name of the text column")
	fs.StringVar(&o.cols.Label, "label", "label", "name of the label column")
	fs.Float64Var(&o.validFraction, "valid-fraction", 0.1,
		"share of each class held out to validate and calibrate")
	fs.DurationVar(&o.autotune, "autotune", 0,
		"search a small grid of hyperparameters on the validation split for this long (0: off)")
	fs.Float64Var(&o.targetAccuracy, "target-accuracy", 0.97,
		"accuracy the records kept must reach on validation; sets the confidence threshold")
	fs.BoolVar(&o.quantize, "quantize", false, "store the embedding table in 8 bits")
	fs.StringVar(&o.writeValid, "write-valid", "",
		"also write the validation split to this CSV file, for triage eval classifier")
	fs.Uint64Var(&o.cfg.Seed, "seed", 1, "seed of the split and of training")
	fs.IntVar(&o.cfg.Buckets, "buckets", 0, "rows of the hashed embedding table (0: 131072)")
	fs.IntVar(&o.cfg.Dim, "dim", 0, "embedding length (0: 48)")
	fs.IntVar(&o.cfg.Epochs, "epochs", 0,
		"passes over the data (0: about 300000 updates, 5 to 30 passes)")
	fs.Float64Var(&o.cfg.LR, "lr", 0, "starting learning rate, decays linearly to 0 (0: 0.5)")
	fs.IntVar(&o.cfg.WordNgrams, "word-ngrams", 0, "longest word n-gram (0: 2)")
	fs.IntVar(&o.cfg.MinN, "minn", 0, "shortest character n-gram (0: 2)")
	fs.IntVar(&o.cfg.MaxN, "maxn", 0, "longest character n-gram (0: 5, -1: none)")
	fs.IntVar(&o.cfg.LeadWords, "lead-words", 0,
		"words at the start of a text hashed again as lead features (0: 6, negative: none)")
	fs.Float64Var(&o.cfg.CharWeight, "char-weight", 0,
		"share of character n-grams in a text's embedding (0: 0.5, negative: none)")
	fs.Float64Var(&o.cfg.IDFPower, "idf-power", 0,
		"power of the idf weight of features (0: 1, negative: plain counts)")
	fs.IntVar(&o.cfg.Models, "models", 0, "members of the ensemble, one goroutine each (0: 2)")
	fs.Float64Var(&o.cfg.Smoothing, "smoothing", 0, "label smoothing (0: none)")
	fs.IntVar(&o.cfg.Threads, "threads", 0, "members trained at once (0: GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.data == "" || o.out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: triage train --data FILE --out MODEL [flags]")
		return errUsage
	}
	if !(o.validFraction > 0 && o.validFraction < 1) {
		fmt.Fprintf(stderr, "triage train: -valid-fraction %v: want in (0, 1)\n", o.validFraction)
		return errUsage
	}
	if !(o.targetAccuracy > 0 && o.targetAccuracy <= 1) {
		fmt.Fprintf(stderr, "triage train: -target-accuracy %v: want in (0, 1]\n", o.targetAccuracy)
		return errUsage
	}
	return train(ctx, o, stdout)
}

// readExamples reads the labelled texts of a data file.
func readExamples(path string, cols classify.Columns) ([]classify.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read data: %w", err)
	}
	defer func() { _ = f.Close() }()
	ex, err := classify.ReadExamples(f, cols)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
}

func train(ctx context.Context, o trainOpts, out io.Writer) error {
	examples, err := readExamples(o.data, o.cols)
	if err != nil {
		return err
	}
	if err := classify.CheckClasses(examples); err != nil {
		return fmt.Errorf("%s: %w", o.data, err)
	}
	trainSet, valid := classify.Split(examples, o.validFraction, o.cfg.Seed)
	fmt.Fprintf(out, "data: %d examples from %s; %d to train, %d to validate (seed %d)\n",
		len(examples), o.data, len(trainSet), len(valid), o.cfg.Seed)
	if o.writeValid != "" {
		if err := writeExamples(o.writeValid, valid, o.cols); err != nil {
			return err
		}
	}

	start := time.Now()
	var (
		m      *classify.Model
		trials []classify.Trial
	)
	if o.autotune > 0 {
		fmt.Fprintf(out, "autotune: up to %v on the validation split\n", o.autotune)
		m, trials, err = classify.Autotune(ctx, trainSet, valid, o.cfg, o.autotune,
			func(t classify.Trial) {
				best := ""
				if t.Best {
					best = "  best so far"
				}
				fmt.Fprintf(out, "  trial %s: accuracy %.4f macro-F1 %.4f in %v%s\n",
					configLine(t.Config), t.Accuracy, t.MacroF1, t.Took.Round(time.Millisecond),
					best)
			})
	} else {
		m, err = classify.Train(ctx, trainSet, o.cfg)
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	if len(trials) > 0 {
		fmt.Fprintf(out, "autotune: %d trials in %v\n", len(trials), took.Round(time.Millisecond))
		for _, t := range trials {
			if t.Best {
				took = t.Took // the last best is the model kept
			}
		}
	}
	cfg := m.Config()
	threads := o.cfg.WithDefaults(len(trainSet)).Threads
	updates := float64(len(trainSet)) * float64(cfg.Epochs)
	fmt.Fprintf(out, "config: %s\n", configLine(cfg))
	fmt.Fprintf(out, "training time: %v on %d threads (GOMAXPROCS %d); %.0f examples/s "+
		"(%d examples x %d epochs x %d members)\n", took.Round(time.Millisecond),
		threads, runtime.GOMAXPROCS(0), updates*float64(cfg.Models)/took.Seconds(),
		len(trainSet), cfg.Epochs, cfg.Models)

	cal, err := m.Calibrate(valid, o.targetAccuracy)
	if err != nil {
		return err
	}
	rep := classify.Evaluate(m, valid)
	printTrainReport(out, rep, cal)
	if o.quantize {
		full := rep.Accuracy
		m = m.Quantize()
		if cal, err = m.Calibrate(valid, o.targetAccuracy); err != nil {
			return err
		}
		rep = classify.Evaluate(m, valid)
		fmt.Fprintf(out, "quantized: accuracy: %.4f (%+.4f) macro-F1 %.4f; "+
			"threshold %.4f keeps %.1f%%\n",
			rep.Accuracy, rep.Accuracy-full, rep.MacroF1, cal.Threshold, 100*cal.Coverage)
	}
	size, err := m.Save(o.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "model: %s, %.1f MB, version %s\n", o.out, float64(size)/1e6, m.Version())
	return nil
}

func configLine(c classify.Config) string {
	return fmt.Sprintf("buckets=%d dim=%d epochs=%d lr=%g word-ngrams=%d char-ngrams=%d-%d "+
		"lead-words=%d char-weight=%g idf-power=%g models=%d smoothing=%g seed=%d", c.Buckets,
		c.Dim, c.Epochs, c.LR, c.WordNgrams, c.MinN, c.MaxN, max(0, c.LeadWords),
		max(0, c.CharWeight), max(0, c.IDFPower), c.Models, c.Smoothing, c.Seed)
}

func printTrainReport(out io.Writer, r classify.Report, cal classify.Calibration) {
	fmt.Fprintf(out, "validation (%d examples): accuracy: %.4f macro-F1: %.4f\n",
		r.Examples, r.Accuracy, r.MacroF1)
	fmt.Fprintf(out, "calibration: temperature %.3f; expected calibration error %.4f before, "+
		"%.4f after\n", cal.Temperature, cal.ECEBefore, cal.ECEAfter)
	fmt.Fprintf(out, "abstain: threshold %.4f keeps %.1f%% of validation records "+
		"at accuracy >= %.2f; "+
		"%.1f%% out of scope\n", cal.Threshold, 100*cal.Coverage, cal.Target, 100*r.OutOfScope)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tprecision\trecall\tF1\tsupport\t")
	for _, c := range r.Classes {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%d\t\n", c.Label, c.Precision, c.Recall, c.F1,
			c.Support)
	}
	_ = tw.Flush()
}

// writeExamples writes examples to path as CSV with a header row naming the
// columns cols.
func writeExamples(path string, examples []classify.Example, cols classify.Columns) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("unable to write the validation split: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{cols.Text, cols.Label})
	for _, e := range examples {
		_ = w.Write([]string{e.Text, e.Label})
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("unable to write the validation split: %w", err)
	}
	return nil
}
