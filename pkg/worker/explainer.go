package worker

import (
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/explain"
	"github.com/streamtriage/triage/pkg/httpserver"
	"github.com/streamtriage/triage/pkg/pipeline"
)

// NewExplainer assembles "triage explainer" from cfg, which must be valid:
// a consumer group (explainer.group) on the escalation topic, read
// committed, whose processor groups escalations into incidents and writes
// one explanation per incident to explainer.explanations_topic, exactly
// once, with its open incidents kept in explainer.state_topic. It opens no
// connection; Run does, and releases the explanations in flight when it
// returns.
func NewExplainer(cfg config.Config, log *zap.Logger) (*Worker, error) {
	w, p, err := assemble(cfg, log, "explainer", nil)
	if err != nil {
		return nil, err
	}
	log = w.log

	exp, err := explain.NewExplainer(explainConfig(cfg.Explainer), explain.Options{
		Metrics: explain.NewMetrics(w.reg),
		Logger:  log.Named("explain"),
	})
	if err != nil {
		return nil, err
	}
	svc := explain.NewService(explainConfig(cfg.Explainer), exp)
	w.closers = append(w.closers, svc.Close)
	proc := explain.NewProcessor(svc, p.dec, p.enc, cfg.Explainer.ExplanationsTopic)

	w.loop, err = pipeline.New(pipeline.Config{
		Topics:          []string{cfg.Output.EscalationTopic},
		Group:           cfg.Explainer.Group,
		WorkerID:        cfg.WorkerID,
		DeadLetterTopic: cfg.Output.DeadLetterTopic,
		StateTopic:      cfg.Explainer.StateTopic,
		StateClientOpts: p.stateOpts,
		AtLeastOnce:     cfg.Output.Delivery == config.AtLeastOnce,
		MaxRecordBytes:  config.MaxRecordBytesLimit,
		MaxPollRecords:  cfg.Input.MaxPollRecords,
		ClientOpts:      p.copts,
		Metrics:         w.Metrics,
		Logger:          log.Named("pipeline"),
	}, proc)
	if err != nil {
		svc.Close()
		return nil, err
	}
	if cfg.Explainer.HTTPListen != "" {
		w.http = httpserver.New(cfg.Explainer.HTTPListen, w.reg, w.loop.Ready, log.Named("http"))
		if cfg.HTTP.Token != "" {
			w.http.RequireToken(cfg.HTTP.Token)
		}
	}
	w.what = "explainer"
	return w, nil
}

// explainConfig maps the explainer's section of the configuration onto the
// explain package's settings; what the section does not name keeps the
// package's defaults.
func explainConfig(c config.Explainer) explain.Config {
	ec := explain.DefaultConfig()
	ec.Incidents.Window = c.Window
	ec.Incidents.Debounce = c.Debounce
	ec.Incidents.UpdateInterval = c.UpdateInterval
	ec.Prompt.MaxTokens = c.PromptMaxTokens
	ec.Model.BaseURL = c.Model.BaseURL
	ec.Model.Model = c.Model.Name
	ec.Model.APIKeyEnv = c.Model.APIKeyEnv
	ec.Model.APIKeyFile = c.Model.APIKeyFile
	ec.Model.Timeout = c.Model.Timeout
	ec.Model.Output = c.Model.Output
	ec.Model.MaxAttempts = c.Model.MaxAttempts
	ec.Model.MaxConcurrent = c.Model.MaxConcurrent
	ec.Model.MaxOutputTokens = c.Model.MaxOutputTokens
	ec.Budget = explain.BudgetConfig{
		TokensPerMinute:  c.Budget.TokensPerMinute,
		TokensPerDay:     c.Budget.TokensPerDay,
		CostPerDayUSD:    c.Budget.CostPerDayUSD,
		InputPricePer1K:  c.Budget.InputPricePer1K,
		OutputPricePer1K: c.Budget.OutputPricePer1K,
	}
	ec.Redact.Patterns = c.RedactPatterns
	return ec
}

// CheckExplainer reports what the explain package refuses in cfg's
// explainer section beyond what config.Validate checks, such as a redaction
// pattern that does not compile or an API key file that cannot be read.
func CheckExplainer(cfg config.Config) error {
	if err := explainConfig(cfg.Explainer).Validate(); err != nil {
		return fmt.Errorf("explainer: %w", err)
	}
	if f := cfg.Explainer.Model.APIKeyFile; f != "" {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("explainer.model.api_key_file: %w", err)
		}
	}
	return nil
}
