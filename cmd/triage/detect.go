package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/streamtriage/triage/pkg/detect"
	"github.com/streamtriage/triage/pkg/detect/nab"
)

// detectorFlags registers the user-tunable detector parameters on fs, with
// the worker's defaults, and returns the configuration they fill in.
func detectorFlags(fs *flag.FlagSet) *detect.Config {
	c := detect.DefaultConfig()
	fs.IntVar(&c.Warmup, "warmup", c.Warmup, "points a series needs before it is scored")
	fs.Float64Var(&c.Threshold, "threshold", c.Threshold, "score at or above which a point "+
		"is flagged and a hold starts")
	fs.IntVar(&c.Hold, "hold", c.Hold, "points after a flag whose scores are damped (0: off)")
	fs.Float64Var(&c.HoldFactor, "hold-factor", c.HoldFactor, "factor applied to scores "+
		"during a hold")
	fs.Float64Var(&c.Novelty, "novelty", c.Novelty, "margin beyond the range seen so far, as "+
		"a share of it, that scores 1 (0: off)")
	fs.Float64Var(&c.LevelAlpha, "level-alpha", c.LevelAlpha, "weight of a new point in the "+
		"level")
	fs.Float64Var(&c.ScaleAlpha, "scale-alpha", c.ScaleAlpha, "weight of a new point in the "+
		"residual scales")
	fs.Float64Var(&c.SeasonAlpha, "season-alpha", c.SeasonAlpha, "learning rate of the daily "+
		"and weekly profiles")
	fs.IntVar(&c.Short, "short", c.Short, "recent surprises averaged before the likelihood step")
	fs.Float64Var(&c.LongAlpha, "long-alpha", c.LongAlpha, "weight of a new point in the "+
		"long-run surprise distribution")
	return &c
}

// detectOpts are the flags of "triage detect".
type detectOpts struct {
	in, out string
	cfg     *detect.Config
}

func runDetect(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var o detectOpts
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.in, "in", "", "series to score: CSV of timestamp,value rows (- for stdin)")
	fs.StringVar(&o.out, "out", "-", "where to write timestamp,value,anomaly_score rows "+
		"(- for stdout)")
	o.cfg = detectorFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.in == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: triage detect --in SERIES.csv [--out SCORED.csv] [flags]")
		return errUsage
	}
	if err := o.cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "triage detect:", err)
		return errUsage
	}

	var r io.Reader = os.Stdin
	if o.in != "-" {
		f, err := os.Open(o.in)
		if err != nil {
			return fmt.Errorf("unable to open series: %w", err)
		}
		defer f.Close()
		r = f
	}
	series, err := nab.ReadSeries(bufio.NewReader(r))
	if err != nil {
		return fmt.Errorf("unable to read series %s: %w", o.in, err)
	}

	w := stdout
	var f *os.File
	if o.out != "-" {
		f, err = os.Create(o.out)
		if err != nil {
			return fmt.Errorf("unable to create output: %w", err)
		}
		w = f
	}
	werr := writeScored(w, series, *o.cfg)
	if f != nil {
		if err := f.Close(); werr == nil && err != nil {
			werr = fmt.Errorf("unable to close output: %w", err)
		}
	}
	return werr
}

// writeScored runs one detector over s in order and writes each row with its
// score. Timestamps are written in UTC in the corpus layout
// ("2006-01-02 15:04:05", with fractional seconds only when there are any).
func writeScored(w io.Writer, s nab.Series, cfg detect.Config) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"timestamp", "value", "anomaly_score"}); err != nil {
		return fmt.Errorf("unable to write output: %w", err)
	}
	d := detect.New(cfg)
	for i, t := range s.Times {
		res := d.Update(t, s.Values[i])
		row := []string{
			t.UTC().Format("2006-01-02 15:04:05.999999999"),
			strconv.FormatFloat(s.Values[i], 'g', -1, 64),
			strconv.FormatFloat(res.Score, 'g', -1, 64),
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("unable to write output: %w", err)
		}
	}
	cw.Flush()
	if err := errors.Join(cw.Error(), bw.Flush()); err != nil {
		return fmt.Errorf("unable to write output: %w", err)
	}
	return nil
}
