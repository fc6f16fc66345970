package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/dashboard"
	"github.com/streamtriage/triage/pkg/demo"
	"github.com/streamtriage/triage/pkg/gen"
	"github.com/streamtriage/triage/pkg/logging"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/pkg/worker"
)

// This file holds "triage demo": the closed world of pkg/demo produced to an
// embedded broker, the worker and the explainer over it, the dashboard, and
// the scorecard.

// labelled is one training message of the demo's classifier corpus.
type labelled = demo.Labelled

// demoStepsPerSecond is how many steps of the world the demo makes per
// second of wall time; each step is demoStep of event time.
const (
	demoStepsPerSecond = 10
	demoStep           = 30 * time.Second
	demoWarmupSteps    = 100
	// demoKeepRecords is how many of the latest records of each partition
	// of the enriched and dead-letter topics the embedded broker keeps.
	demoKeepRecords = 100_000
	// demoSegmentBytes is the segment size of the topics but the state
	// topics.
	demoSegmentBytes = 4 << 20
)

// demoOpts are the flags of "triage demo".
type demoOpts struct {
	duration    time.Duration
	rate        int
	seed        uint64
	brokerPort  int
	http        string
	poisonEvery int
	llmURL      string
	llmModel    string
	scorecard   string
}

// runDemo is "triage demo": it parses args and runs the demo until
// -duration passes or ctx ends (Ctrl-C).
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o demoOpts
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 0, "run this long, print the scorecard and exit "+
		"(0: until interrupted)")
	fs.IntVar(&o.rate, "rate", 2000, "records per second to generate")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated world")
	fs.IntVar(&o.brokerPort, "broker-port", 9092, "port of the embedded Kafka broker on "+
		"127.0.0.1 (0: any free port)")
	fs.StringVar(&o.http, "http", "127.0.0.1:8080", "address of the dashboard (empty: none)")
	fs.IntVar(&o.poisonEvery, "poison-every", 200, "add an undecodable record after every "+
		"Nth record (0: never)")
	fs.StringVar(&o.llmURL, "llm-url", "", "base URL of an OpenAI-compatible server for the "+
		"explainer, such as http://localhost:11434/v1 (default: the heuristic)")
	fs.StringVar(&o.llmModel, "llm-model", "", "model name on -llm-url")
	fs.StringVar(&o.scorecard, "scorecard", "", "also write the scorecard as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rate <= 0 {
		return fmt.Errorf("-rate %d: want a positive number of records per second", o.rate)
	}
	if (o.llmURL == "") != (o.llmModel == "") {
		return errors.New("-llm-url and -llm-model go together")
	}
	return runDemoWorld(ctx, o, stdout)
}

// demoConfig returns the configuration of the demo's worker and explainer
// on brokers.
func demoConfig(o demoOpts, brokers []string) (config.Config, error) {
	cfg := config.Default()
	cfg.WorkerID = "demo-worker"
	cfg.Kafka.Brokers = brokers
	cfg.HTTP.Listen = ""
	cfg.Explainer.HTTPListen = ""
	cfg.Log.Level = "warn"
	// The world makes one point per series per step and its first incident
	// comes after demoWarmupSteps; payment-gateway is hit again every cycle
	// (150 steps), a database every third. Its incidents are blatant, so a
	// higher threshold than the default costs no detection and saves false
	// alarms.
	cfg.Anomaly.Warmup = demoWarmupSteps - 20
	cfg.Anomaly.Hold = 40
	cfg.Anomaly.Threshold = 0.7
	above := func(v float64) *float64 { return &v }
	cfg.Rules = []config.Rule{{Metric: "error_rate", Above: above(0.1)}}
	// Explain a burst two seconds after it starts rather than ten, and an
	// incident that goes on every three seconds rather than five minutes,
	// so that a short demo shows its explanations.
	cfg.Explainer.Debounce = 2 * time.Second
	cfg.Explainer.UpdateInterval = 3 * time.Second
	cfg.Explainer.Model.BaseURL = o.llmURL
	cfg.Explainer.Model.Name = o.llmModel
	return cfg, cfg.Validate()
}

// demoRun is the state of one run of the demo shared by its goroutines.
type demoRun struct {
	o       demoOpts
	cfg     config.Config
	brokers []string
	tracker *demo.Tracker
	dash    *dashboard.Dashboard

	produced, poisoned                  atomic.Int64
	enriched, deadLetters, explanations atomic.Int64
	costMicros                          atomic.Int64 // model spend, in millionths of a dollar
}

// runDemoWorld runs the demo of o until ctx ends, then drains, prints the
// scorecard to out and writes it to -scorecard. It fails when a produced
// record was neither enriched nor dead-lettered.
func runDemoWorld(ctx context.Context, o demoOpts, out io.Writer) error {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(o.brokerPort))
	if err != nil {
		return fmt.Errorf("unable to start the embedded broker on 127.0.0.1:%d "+
			"(choose another with -broker-port): %w", o.brokerPort, err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	cfg, err := demoConfig(o, brokers)
	if err != nil {
		return err
	}
	r := &demoRun{o: o, cfg: cfg, brokers: brokers,
		tracker: demo.NewTracker(5 * demoStep)}
	r.dash = dashboard.New("triage demo: a payments company", r.incidentViews)

	fmt.Fprintf(out, "embedded Kafka broker on %s (any Kafka client can connect, e.g. "+
		"kcat -b %s -L)\n", brokers[0], brokers[0])
	if err := r.createTopics(ctx, out); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "triage-demo-")
	if err != nil {
		return fmt.Errorf("unable to make a directory for the classifier: %w", err)
	}
	defer os.RemoveAll(dir)
	corpus := demo.Corpus(o.seed, 6000)
	model, err := demoClassifier(ctx, corpus, dir)
	switch {
	case err != nil:
		return fmt.Errorf("unable to train the demo classifier: %w", err)
	case model == "":
		fmt.Fprintf(out, "classifier: none yet (corpus of %d messages in %d intents ready); "+
			"records get no class\n", len(corpus), len(demo.Intents))
	default:
		fmt.Fprintf(out, "classifier trained on %d messages in %d intents\n", len(corpus),
			len(demo.Intents))
		cfg.Classifier.Model = model
	}

	stopHTTP, err := r.serveDashboard(out)
	if err != nil {
		return err
	}
	defer stopHTTP()

	log, err := logging.New(cfg.Log, nil)
	if err != nil {
		return err
	}
	w, err := worker.New(cfg, log)
	if err != nil {
		return err
	}
	x, err := worker.NewExplainer(cfg, log)
	if err != nil {
		return err
	}
	if o.llmURL != "" {
		fmt.Fprintf(out, "explainer: model %s at %s, the heuristic as fallback\n", o.llmModel,
			o.llmURL)
	} else {
		fmt.Fprintln(out, "explainer: heuristic (give -llm-url and -llm-model for a model)")
	}

	// The generator stops with ctx; the worker, the explainer and the
	// reader run on until what was produced is drained, so the scorecard
	// covers every record.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var (
		wg         sync.WaitGroup
		werr, xerr error
	)
	wg.Add(3)
	go func() {
		defer wg.Done()
		werr = w.Run(runCtx)
	}()
	go func() {
		defer wg.Done()
		xerr = x.Run(runCtx)
	}()
	go func() {
		defer wg.Done()
		r.read(runCtx)
	}()
	// -duration counts from here: the broker, the topics and the
	// classifier's training are setup, not the run.
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	produceDone := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(produceDone)
		r.produce(ctx, start)
	}()

	r.progress(ctx, out, start, cluster)
	<-produceDone
	elapsed := r.drain(start)
	r.updateDashboard()
	stop()
	wg.Wait()
	if err := errors.Join(werr, xerr); err != nil {
		return err
	}

	records := r.enriched.Load() + r.deadLetters.Load()
	res := r.tracker.Result(records, elapsed)
	fmt.Fprintln(out)
	res.Print(out)
	fmt.Fprintf(out, "  produced             %d (%d undecodable on purpose); enriched %d, "+
		"dead-lettered %d\n", r.produced.Load(), r.poisoned.Load(), r.enriched.Load(),
		r.deadLetters.Load())
	if o.scorecard != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.scorecard, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("unable to write the scorecard: %w", err)
		}
	}
	if lost := r.produced.Load() - records; lost != 0 {
		return fmt.Errorf("%d records produced but neither enriched nor dead-lettered", lost)
	}
	return nil
}

// createTopics makes the topics of the worker and the explainer, with
// three partitions each, as "triage topics create" does.
func (r *demoRun) createTopics(ctx context.Context, out io.Writer) error {
	cl, err := newClient(r.cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(adminTimeout.Milliseconds()))
	// Small segments let trim free memory: the embedded broker drops a
	// segment once it lies wholly before the log start.
	o := topicsOpts{partitions: 3, replication: -1, configs: topicConfigs{
		"segment.bytes": kadm.StringPtr(strconv.Itoa(demoSegmentBytes)),
	}}
	if err := createTopics(ctx, adm, r.cfg, o, io.Discard); err != nil {
		return fmt.Errorf("unable to create the demo topics: %w", err)
	}
	fmt.Fprintf(out, "topics: %s -> %s, %s, %s; explanations %s\n", r.cfg.Input.Topics[0],
		r.cfg.Output.EnrichedTopic, r.cfg.Output.EscalationTopic, r.cfg.Output.DeadLetterTopic,
		r.cfg.Explainer.ExplanationsTopic)
	return nil
}

// serveDashboard starts the dashboard on -http and returns the function
// that stops it.
func (r *demoRun) serveDashboard(out io.Writer) (func(), error) {
	if r.o.http == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", r.o.http)
	if err != nil {
		return nil, fmt.Errorf("unable to listen for the dashboard on %s (choose another "+
			"with -http): %w", r.o.http, err)
	}
	srv := &http.Server{Handler: r.dash.Handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	fmt.Fprintf(out, "dashboard on http://%s/\n", ln.Addr())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

// incidentViews lists the injected incidents for the dashboard.
func (r *demoRun) incidentViews() []dashboard.Incident {
	res := r.tracker.Result(0, 0)
	out := make([]dashboard.Incident, len(res.Incidents))
	for i, in := range res.Incidents {
		out[i] = dashboard.Incident{ID: in.ID, Title: in.Title, Detected: in.Detected,
			Explained: in.Explained}
		if in.Detected {
			out[i].Delay = fmt.Sprintf("after %s of event time", in.EventDelay)
		}
	}
	return out
}

// trim bounds the memory of the embedded broker, which keeps every record
// in memory and applies no retention by itself: it compacts the state
// topics, deletes the input records the worker has committed, and deletes
// all but the latest demoKeepRecords of each partition of the enriched and
// dead-letter topics. Failures are left for the next call.
func (r *demoRun) trim(ctx context.Context, cluster *kfake.Cluster) {
	cluster.Compact()
	cl, err := newClient(r.cfg)
	if err != nil {
		return
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	del := kadm.Offsets{}
	committed, err := adm.FetchOffsets(ctx, r.cfg.Input.Group)
	if err == nil {
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At > 0 {
				del.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.At})
			}
		})
	}
	ends, err := adm.ListEndOffsets(ctx, r.cfg.Output.EnrichedTopic,
		r.cfg.Output.DeadLetterTopic)
	if err == nil {
		ends.Each(func(o kadm.ListedOffset) {
			if o.Err == nil && o.Offset > demoKeepRecords {
				del.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition,
					At: o.Offset - demoKeepRecords})
			}
		})
	}
	if len(del) > 0 {
		_, _ = adm.DeleteRecords(ctx, del)
	}
}

// updateDashboard gives the dashboard the current counters.
func (r *demoRun) updateDashboard() {
	res := r.tracker.Result(0, 0)
	r.dash.Counters(dashboard.Counters{
		Records:      r.enriched.Load() + r.deadLetters.Load(),
		Escalated:    res.Escalated,
		DeadLetters:  r.deadLetters.Load(),
		Explanations: r.explanations.Load(),
		LLMCalls:     res.LLMCalls,
		LLMTokens:    res.LLMTokens,
		CostUSD:      float64(r.costMicros.Load()) / 1e6,
		FalseAlarms:  res.FalseAlarms,
	}, time.Now())
}

// progress prints a line every two seconds, feeds the dashboard every
// second and trims the topics every ten seconds, until ctx ends.
func (r *demoRun) progress(
	ctx context.Context, out io.Writer, start time.Time, cluster *kfake.Cluster,
) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.updateDashboard()
		if n%10 == 0 {
			r.trim(ctx, cluster)
		}
		if n%2 != 0 {
			continue
		}
		res := r.tracker.Result(0, 0)
		fmt.Fprintf(out, "%4.0fs  produced %8d  enriched %8d  escalated %5d  explanations "+
			"%3d  incidents %d injected, %d detected, %d explained\n",
			time.Since(start).Seconds(), r.produced.Load(), r.enriched.Load(), res.Escalated,
			r.explanations.Load(), res.IncidentsInjected, res.IncidentsDetected,
			res.IncidentsExplained)
	}
}

// drain waits, for at most 15 seconds, until the worker has processed what
// was produced, and then, for at most 10 seconds more, until every
// detected incident is explained. It returns the time from start until
// the records were drained.
func (r *demoRun) drain(start time.Time) time.Duration {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) &&
		r.enriched.Load()+r.deadLetters.Load() < r.produced.Load() {
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res := r.tracker.Result(0, 0)
		if res.IncidentsExplained >= res.IncidentsDetected {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return elapsed
}

// produce writes the world to the input topic, demoStepsPerSecond steps a
// second, until ctx ends, telling the tracker of each incident before its
// first record.
func (r *demoRun) produce(ctx context.Context, start time.Time) {
	topic := r.cfg.Input.Topics[0]
	cl := mustClient(kgo.SeedBrokers(r.brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(200_000))
	defer cl.Close()
	enc, err := codec.NewEncoder(codec.EncoderOptions{})
	if err != nil {
		panic(fmt.Sprintf("an encoder without a registry always builds: %v", err))
	}
	perStep := max(demo.MetricRecordsPerStep(), r.o.rate/demoStepsPerSecond)
	wc := demo.Config{
		Seed:           r.o.seed,
		Start:          start.Add(-24 * time.Hour).Truncate(time.Minute),
		Step:           demoStep,
		RecordsPerStep: perStep,
		WarmupSteps:    demoWarmupSteps,
	}
	if r.o.duration > 0 {
		// Leave six seconds at the end for the last incident to be
		// detected and explained.
		wc.LastStep = max(1,
			int64((r.o.duration-6*time.Second).Seconds()*demoStepsPerSecond))
	}
	world := demo.New(wc)
	var buf []record.Event
	promise := func(_ *kgo.Record, err error) {
		if err == nil {
			r.produced.Add(1)
		}
	}
	poisonPromise := func(_ *kgo.Record, err error) {
		if err == nil {
			r.produced.Add(1)
			r.poisoned.Add(1)
		}
	}
	interval := time.Second / demoStepsPerSecond
	next := time.Now()
	for n := 0; ; {
		if d := time.Until(next); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			_ = cl.Flush(context.Background())
			return
		}
		next = next.Add(interval)
		var started []demo.Incident
		buf, started = world.Step(buf[:0])
		for _, in := range started {
			r.tracker.Injected(in, time.Now())
		}
		for i := range buf {
			ev := &buf[i]
			val, err := enc.Event(ctx, topic, ev)
			if err != nil {
				panic(fmt.Sprintf("generated events always encode: %v", err))
			}
			cl.Produce(ctx, &kgo.Record{Key: []byte(ev.Entity), Value: val}, promise)
			n++
			if r.o.poisonEvery > 0 && n%r.o.poisonEvery == 0 {
				cl.Produce(ctx, &kgo.Record{Value: gen.Poison(n / r.o.poisonEvery)},
					poisonPromise)
			}
		}
	}
}

// mustClient returns a client of opts, which must be valid.
func mustClient(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		panic(fmt.Sprintf("client options are static and valid: %v", err))
	}
	return cl
}
