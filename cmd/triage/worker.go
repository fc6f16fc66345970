package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/logging"
	"github.com/streamtriage/triage/pkg/worker"
)

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runService(ctx, "worker", args, stderr, worker.New)
}

func runExplainer(ctx context.Context, args []string, _, stderr io.Writer) error {
	return runService(ctx, "explainer", args, stderr, func(cfg config.Config, log *zap.Logger,
	) (*worker.Worker, error) {
		if err := worker.CheckExplainer(cfg); err != nil {
			return nil, err
		}
		return worker.NewExplainer(cfg, log)
	})
}

// runService loads the configuration named by --config, builds the worker
// or the explainer from it with build, and runs it until ctx ends.
func runService(ctx context.Context, name string, args []string, stderr io.Writer,
	build func(config.Config, *zap.Logger) (*worker.Worker, error)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file; TRIAGE_* variables override it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	log, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	w, err := build(cfg, log)
	if err != nil {
		return fmt.Errorf("unable to start %s: %w", name, err)
	}
	return w.Run(ctx)
}

func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: triage config check FILE")
		return errUsage
	}
	if err := config.Check(args[1], stdout); err != nil {
		return errReported
	}
	return nil
}
