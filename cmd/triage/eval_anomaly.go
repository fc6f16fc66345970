package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/streamtriage/triage/pkg/detect"
	"github.com/streamtriage/triage/pkg/detect/nab"
)

// evalAnomalyOpts are the flags of "triage eval anomaly".
type evalAnomalyOpts struct {
	data, windows, profiles string
	details                 bool
	cfg                     *detect.Config
}

func runEvalAnomaly(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o evalAnomalyOpts
	fs := flag.NewFlagSet("eval anomaly", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", "", "directory of timestamp,value CSV series "+
		"(searched recursively)")
	fs.StringVar(&o.windows, "windows", "", "JSON file of labelled anomaly windows per series")
	fs.StringVar(&o.profiles, "profiles", "", "JSON file of cost profiles")
	fs.BoolVar(&o.details, "details", false, "also print each series' score per profile")
	o.cfg = detectorFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.data == "" || o.windows == "" || o.profiles == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: triage eval anomaly --data DIR --windows FILE "+
			"--profiles FILE [--details] [detector flags]")
		return errUsage
	}
	if err := o.cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "triage eval anomaly:", err)
		return errUsage
	}

	series, err := nab.ReadCorpus(o.data)
	if err != nil {
		return err
	}
	windows, err := nab.ReadWindows(o.windows)
	if err != nil {
		return err
	}
	profiles, err := nab.ReadProfiles(o.profiles)
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return fmt.Errorf("no .csv series under %s", o.data)
	}

	scored := make([]nab.Scored, len(series))
	for i, s := range series {
		if err := ctx.Err(); err != nil {
			return err
		}
		scored[i] = nab.Scored{Name: s.Name, Times: s.Times, Windows: windows[s.Name],
			Scores: scoreSeries(s, *o.cfg)}
	}

	for _, p := range profiles {
		res := nab.Score(scored, p)
		fmt.Fprintf(stdout, "%s: %.1f\n", p.Name, res.Normalized)
		if o.details {
			fmt.Fprintf(stdout, "  threshold %.6g, raw %.3f, null %.3f, perfect %.3f\n",
				res.Threshold, res.Raw, res.Null, res.Perfect)
			for _, f := range res.Files {
				fmt.Fprintf(stdout, "  %-60s %8.3f  windows %d  detected %d  false %d\n",
					f.Name, f.Score, f.Windows, f.TP, f.FP)
			}
		}
	}
	return nil
}

// scoreSeries runs one detector with cfg over s, in order.
func scoreSeries(s nab.Series, cfg detect.Config) []float64 {
	d := detect.New(cfg)
	out := make([]float64, len(s.Times))
	for i, t := range s.Times {
		out[i] = d.Update(t, s.Values[i]).Score
	}
	return out
}
