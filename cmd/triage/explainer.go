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

func runExplainer(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("explainer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration file, the worker's; TRIAGE_* variables "+
		"override it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := worker.CheckExplainer(cfg); err != nil {
		return err
	}
	log, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	e, err := worker.NewExplainer(cfg, log)
	if err != nil {
		return fmt.Errorf("unable to start explainer: %w", err)
	}
	return e.Run(ctx)
}
