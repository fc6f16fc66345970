package main

import (
	"context"
	"fmt"
	"io"
)

// runEval dispatches "triage eval classifier" and "triage eval anomaly".
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "classifier":
			return runEvalClassifier(ctx, args[1:], stdout, stderr)
		case "anomaly":
			return runEvalAnomaly(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "Usage: triage eval classifier --model MODEL --data FILE [flags]")
	fmt.Fprintln(stderr, "       triage eval anomaly --data DIR --windows FILE --profiles FILE")
	return errUsage
}
