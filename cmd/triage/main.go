// Command triage is the triage binary: the worker that tags every record of
// an event stream, and the tools around it. Run "triage help" for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"worker", "run the worker: consume, tag, produce enriched records", runWorker},
		{"explainer", "explain escalations: incidents, an LLM or the heuristic, exactly once", runExplainer},
		{"demo", "run the worker on an embedded broker with a generated stream", runDemo},
		{"train", "train the text classifier: triage train --data FILE --out MODEL", runTrain},
		{"detect", "score a timestamp,value series with the worker's anomaly detector", runDetect},
		{"eval", "measure a model: triage eval classifier|anomaly [flags]", runEval},
		{"config", "check a configuration file: triage config check FILE", runConfig},
		{"produce", "write events from a JSON-lines or CSV file or the generator", runProduce},
		{"tail", "print the records of triage topics, decoded: triage tail TOPIC", runTail},
		{"topics", "create or list the topics of a configuration: triage topics create|list",
			runTopics},
		{"version", "print the version", runVersion},
	}
}

// errUsage is returned when the command line is wrong; the usage text has
// already been printed.
var errUsage = errors.New("usage")

// errReported is returned by a command that has already told the user what
// went wrong; the binary exits 1 without saying it again.
var errReported = errors.New("reported")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case errors.Is(err, errReported):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "triage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "triage: unknown command %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "triage tags every record of a Kafka event stream with small, fast models")
	fmt.Fprintln(w, "and escalates the rare flagged ones.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: triage COMMAND [flags]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'triage COMMAND -h' for a command's flags.")
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "triage", version)
	return nil
}

// usageFlagSet returns a flag set for a command that prints usage, then its
// flags, to stderr on -h or a bad flag.
func usageFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	return fs
}
