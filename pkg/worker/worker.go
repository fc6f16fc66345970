// Package worker assembles a triage worker from its configuration: the
// Kafka client options, the schema registry client, the codecs, the
// taggers, the enrich processor, the pipeline loop and the HTTP listener.
// It owns their lifecycle and nothing of their logic; the command line and
// the demo both run a worker through it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/anomaly"
	"github.com/streamtriage/triage/pkg/classify"
	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/detect"
	"github.com/streamtriage/triage/pkg/enrich"
	"github.com/streamtriage/triage/pkg/httpserver"
	"github.com/streamtriage/triage/pkg/kafkaclient"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/tag"
)

// Worker is one assembled worker. Create it with New, run it with Run.
type Worker struct {
	cfg      config.Config
	log      *zap.Logger
	reg      *prometheus.Registry
	loop     *pipeline.Loop
	http     *httpserver.Server
	Metrics  *pipeline.Metrics // the loop's metrics, registered on /metrics
	Registry *sr.Client        // nil when no schema registry is configured

	what    string   // "worker" or "explainer", for logs
	closers []func() // run when Run returns, in order

	// models, when the worker runs a classifier, holds its model; Run
	// watches the file for a new one.
	models *classify.Holder
}

// New assembles a worker from cfg, which must be valid (config.Load
// validates). It opens no connection; Run does.
func New(cfg config.Config, log *zap.Logger) (*Worker, error) {
	w, p, err := assemble(cfg, log, "worker", cfg.Input.SchemaFiles)
	if err != nil {
		return nil, err
	}
	log = w.log

	taggers := []tag.Tagger{tag.PassThrough{}}
	if cfg.Classifier.Model != "" {
		ct, err := w.classifier(cfg.Classifier)
		if err != nil {
			return nil, err
		}
		taggers = append(taggers, ct)
	}
	if len(cfg.Rules) > 0 {
		rules, err := tag.NewRules(cfg.Rules)
		if err != nil {
			return nil, err
		}
		taggers = append(taggers, rules)
	}
	if cfg.Anomaly.Enabled {
		an, err := anomalyTagger(cfg.Anomaly, w.reg)
		if err != nil {
			return nil, err
		}
		taggers = append(taggers, an)
		if cfg.Classifier.Model != "" {
			surge, err := anomaly.NewSurge(anomaly.SurgeConfig{
				Bucket: cfg.Anomaly.SurgeBucket,
				Sigmas: cfg.Anomaly.SurgeSigmas,
			}, w.reg)
			if err != nil {
				return nil, err
			}
			taggers = append(taggers, surge)
		}
	}
	ep, err := enrich.New(enrich.Config{
		Decoder:         p.dec,
		Encoder:         p.enc,
		Taggers:         taggers,
		EnrichedTopic:   cfg.Output.EnrichedTopic,
		EscalationTopic: cfg.Output.EscalationTopic,
		WorkerID:        cfg.WorkerID,
		RecentEvents:    cfg.Output.RecentEvents,
		Metrics:         w.Metrics,
	})
	if err != nil {
		return nil, err
	}
	// The processor is handed to the loop as stateful only when a tagger
	// keeps state, so a worker without detectors needs no state topic.
	var proc pipeline.Processor = ep
	stateTopic := ""
	if ep.Stateful() {
		stateTopic = cfg.Output.StateTopic
	} else {
		proc = struct{ stagedRecycler }{ep}
	}

	w.loop, err = pipeline.New(pipeline.Config{
		Topics:          cfg.Input.Topics,
		Group:           cfg.Input.Group,
		WorkerID:        cfg.WorkerID,
		DeadLetterTopic: cfg.Output.DeadLetterTopic,
		StateTopic:      stateTopic,
		StateClientOpts: p.stateOpts,
		AtLeastOnce:     cfg.Output.Delivery == config.AtLeastOnce,
		MaxRecordBytes:  cfg.Input.MaxRecordBytes,
		MaxPollRecords:  cfg.Input.MaxPollRecords,
		ClientOpts:      p.copts,
		Metrics:         w.Metrics,
		Logger:          log.Named("pipeline"),
	}, proc)
	if err != nil {
		return nil, err
	}
	if cfg.HTTP.Listen != "" {
		w.http = httpserver.New(cfg.HTTP.Listen, w.reg, w.loop.Ready, log.Named("http"))
		if cfg.HTTP.Token != "" {
			w.http.RequireToken(cfg.HTTP.Token)
		}
	}
	return w, nil
}

// classifier loads the model file and returns the classifier's tagger.
func (w *Worker) classifier(c config.Classifier) (*classify.Tagger, error) {
	h, err := classify.LoadHolder(c.Model)
	if err != nil {
		return nil, fmt.Errorf("unable to load the classifier: %w", err)
	}
	t, err := classify.NewTagger(h, classify.TaggerConfig{
		MaxTextBytes: c.MaxTextBytes,
		Threshold:    c.Threshold,
	}, w.reg)
	if err != nil {
		return nil, err
	}
	if c.ReloadInterval > 0 {
		w.models = h
	}
	m := h.Model()
	w.log.Info("classifier loaded", zap.String("model", c.Model),
		zap.String("version", m.Version()), zap.Int("labels", len(m.Labels())),
		zap.Float64("threshold", m.Threshold()))
	return t, nil
}

// watchModel reloads the classifier's model file whenever it changes,
// until ctx ends. A file that does not load leaves the running model in
// place.
func (w *Worker) watchModel(ctx context.Context) {
	_ = w.models.Watch(ctx, w.cfg.Classifier.ReloadInterval, func(m *classify.Model, err error) {
		if err != nil {
			w.log.Warn("classifier model not reloaded; the running one stays",
				zap.String("model", w.cfg.Classifier.Model), zap.Error(err))
			return
		}
		w.log.Info("classifier model reloaded", zap.String("model", w.cfg.Classifier.Model),
			zap.String("version", m.Version()))
	})
}

// parts are what the worker and the explainer are both assembled from.
type parts struct {
	copts     []kgo.Opt // the loop's client: connection, metrics hook, group
	stateOpts []kgo.Opt // the state readers' clients: the connection alone
	dec       *codec.Decoder
	enc       *codec.Encoder
}

// assemble returns a Worker with its metrics registry and schema registry
// client, and the parts its loop needs: client options, and codecs that
// know the schemas in schemaFiles beside the built-in ones.
func assemble(cfg config.Config, log *zap.Logger, what string, schemaFiles []string,
) (*Worker, parts, error) {
	if log == nil {
		log = zap.NewNop()
	}
	w := &Worker{cfg: cfg, log: log, reg: prometheus.NewRegistry(), what: what}
	w.reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	w.Metrics = pipeline.NewMetrics(w.reg)

	var p parts
	conn, err := kafkaclient.Options(cfg.Kafka, log.Named("kafka"))
	if err != nil {
		return nil, p, err
	}
	// A metrics hook registers every client it sees, so the short-lived
	// clients that read the state topic go without it.
	p.stateOpts = conn
	p.copts = append(conn[:len(conn):len(conn)], kgo.WithHooks(kafkaclient.Metrics(w.reg, "kgo")))
	p.copts = append(p.copts, groupOpts(cfg)...)

	if cfg.SchemaRegistry.URL != "" {
		w.Registry, err = registryClient(cfg.SchemaRegistry)
		if err != nil {
			return nil, p, err
		}
	}
	var extra []string
	for _, f := range schemaFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, p, fmt.Errorf("unable to read schema file: %w", err)
		}
		extra = append(extra, string(b))
	}
	p.dec, err = codec.NewDecoder(codec.DecoderOptions{
		Schemas:  extra,
		Registry: w.Registry,
		Mapping:  cfg.Input.Mapping,
		Logger:   log.Named("codec"),
	})
	if err != nil {
		return nil, p, err
	}
	p.enc, err = codec.NewEncoder(codec.EncoderOptions{Registry: w.Registry})
	if err != nil {
		return nil, p, err
	}
	return w, p, nil
}

// stagedRecycler is what the loop sees of a processor whose taggers keep
// no state.
type stagedRecycler interface {
	pipeline.Staged
	pipeline.Recycler
}

// anomalyTagger builds the anomaly tagger from its config section.
func anomalyTagger(c config.Anomaly, reg prometheus.Registerer) (*anomaly.Tagger, error) {
	dc := detect.DefaultConfig()
	dc.Threshold, dc.Warmup, dc.Hold = c.Threshold, c.Warmup, c.Hold
	dc.HoldFactor = c.Threshold // during a hold, only a score of 1 flags again
	return anomaly.New(anomaly.Config{
		Detector: dc,
		MaxBytes: c.MaxMemoryBytes,
		Lateness: c.Lateness,
		Metrics:  c.Metrics,
	}, reg)
}

// Ready reports whether the worker has joined its group and is processing.
func (w *Worker) Ready() error { return w.loop.Ready() }

// HTTPAddr is the address the HTTP listener is bound to, once Run started
// it; empty when there is none.
func (w *Worker) HTTPAddr() string {
	if w.http == nil {
		return ""
	}
	return w.http.Addr()
}

// Run starts the HTTP listener and the loop, and returns when ctx is
// cancelled and the loop has finished its open batch and left the group.
func (w *Worker) Run(ctx context.Context) error {
	defer func() {
		for _, c := range w.closers {
			c()
		}
	}()
	if w.models != nil {
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.watchModel(wctx)
		}()
		defer func() {
			cancel()
			<-done
		}()
	}
	if w.http != nil {
		if err := w.http.Start(); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownHTTP)
			defer cancel()
			if err := w.http.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				w.log.Warn("http shutdown", zap.Error(err))
			}
		}()
	}
	topics, group := w.cfg.Input.Topics, w.cfg.Input.Group
	if w.what == "explainer" {
		topics, group = []string{w.cfg.Output.EscalationTopic}, w.cfg.Explainer.Group
	}
	w.log.Info(w.what+" starting",
		zap.String("worker_id", w.cfg.WorkerID),
		zap.Strings("topics", topics),
		zap.String("group", group),
		zap.String("delivery", w.cfg.Output.Delivery),
		zap.String("http", w.HTTPAddr()))
	err := w.loop.Run(ctx)
	w.log.Info(w.what + " stopped")
	return err
}

// shutdownHTTP bounds the HTTP listener's graceful stop.
const shutdownHTTP = 5 * time.Second

func groupOpts(cfg config.Config) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SessionTimeout(cfg.Kafka.SessionTimeout),
		kgo.RebalanceTimeout(cfg.Kafka.RebalanceTimeout),
		kgo.TransactionTimeout(cfg.Kafka.TransactionTimeout),
	}
	if cfg.Kafka.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.Kafka.InstanceID))
	}
	if cfg.Input.StartOffset == "latest" {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	} else {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	return opts
}

func registryClient(c config.SchemaRegistry) (*sr.Client, error) {
	opts := []sr.ClientOpt{
		sr.URLs(c.URL),
		sr.HTTPClient(&http.Client{Timeout: c.Timeout}),
	}
	if c.Username != "" {
		opts = append(opts, sr.BasicAuth(c.Username, c.Password))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("unable to create schema registry client: %w", err)
	}
	return cl, nil
}
