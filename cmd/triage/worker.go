package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/logging"
	"github.com/streamtriage/triage/pkg/worker"
)

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
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
	w, err := worker.New(cfg, log)
	if err != nil {
		return fmt.Errorf("unable to start worker: %w", err)
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
