package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/gen"
	"github.com/streamtriage/triage/pkg/logging"
	"github.com/streamtriage/triage/pkg/worker"
)

// demoOpts are the flags of "triage demo".
type demoOpts struct {
	duration    time.Duration
	rate        int
	seed        uint64
	brokerPort  int
	http        string
	poisonEvery int
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o demoOpts
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 0, "run this long, print the scorecard and exit "+
		"(0: until interrupted)")
	fs.IntVar(&o.rate, "rate", 500, "records per second to generate")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated stream")
	fs.IntVar(&o.brokerPort, "broker-port", 9092, "port of the embedded Kafka broker on 127.0.0.1")
	fs.StringVar(&o.http, "http", "127.0.0.1:9464", "address of the worker's metrics and health "+
		"listener (empty: none)")
	fs.IntVar(&o.poisonEvery, "poison-every", 200, "make every Nth record undecodable (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.rate <= 0 {
		return fmt.Errorf("-rate %d: want a positive number of records per second", o.rate)
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	return demo(ctx, o, stdout)
}

func demo(ctx context.Context, o demoOpts, out io.Writer) error {
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(o.brokerPort),
	)
	if err != nil {
		return fmt.Errorf("unable to start the embedded broker on 127.0.0.1:%d "+
			"(choose another with -broker-port): %w", o.brokerPort, err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	cfg := config.Default()
	cfg.WorkerID = "demo-worker"
	cfg.Kafka.Brokers = brokers
	cfg.HTTP.Listen = o.http
	cfg.Log.Level = "warn"
	above := func(v float64) *float64 { return &v }
	cfg.Rules = []config.Rule{
		{Metric: "latency_ms", Above: above(400)},
		{Metric: "error_rate", Above: above(0.1)},
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	admin := kadm.NewClient(mustClient(kgo.SeedBrokers(brokers...)))
	defer admin.Close()
	topics := []string{cfg.Output.EnrichedTopic, cfg.Output.EscalationTopic,
		cfg.Output.DeadLetterTopic}
	if _, err := admin.CreateTopics(ctx, 3, 1, nil, append(topics, cfg.Input.Topics...)...); err != nil {
		return fmt.Errorf("unable to create demo topics: %w", err)
	}
	compact := "compact"
	if _, err := admin.CreateTopics(ctx, 3, 1, map[string]*string{"cleanup.policy": &compact},
		cfg.Output.StateTopic); err != nil {
		return fmt.Errorf("unable to create the demo state topic: %w", err)
	}

	log, err := logging.New(cfg.Log, nil)
	if err != nil {
		return err
	}
	w, err := worker.New(cfg, log)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "embedded Kafka broker on %s (any Kafka client can connect)\n", brokers[0])
	fmt.Fprintf(out, "input %s -> enriched %s, escalations %s, dead letters %s\n",
		cfg.Input.Topics[0], cfg.Output.EnrichedTopic, cfg.Output.EscalationTopic,
		cfg.Output.DeadLetterTopic)

	var (
		wg       sync.WaitGroup
		produced atomic.Int64
		spikes   atomic.Int64
		poisoned atomic.Int64
		counts   outputCounts
		werr     error
	)
	// The producer stops with ctx; the worker and the counter run on until
	// what was produced is drained, so the scorecard covers every record.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	produceDone := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		werr = w.Run(runCtx)
	}()
	go func() {
		defer close(produceDone)
		produceDemo(ctx, o, brokers, cfg.Input.Topics[0], &produced, &spikes, &poisoned)
	}()
	go func() {
		defer wg.Done()
		counts.follow(runCtx, brokers, topics)
	}()

	if o.http != "" {
		waitReady(ctx, w)
		fmt.Fprintf(out, "metrics on http://%s/metrics, health on /healthz and /readyz\n",
			w.HTTPAddr())
	}
	start := time.Now()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			fmt.Fprintf(out, "%5.0fs  produced %7d  enriched %7d  escalated %5d  dead letters %4d\n",
				time.Since(start).Seconds(), produced.Load(), counts.get(0), counts.get(1),
				counts.get(2))
		}
	}
	// Let the worker drain what was produced before stopping it.
	<-produceDone
	drainDeadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(drainDeadline) &&
		counts.get(0)+counts.get(2) < produced.Load() {
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stop()
	wg.Wait()
	if werr != nil {
		return werr
	}

	fmt.Fprintln(out)
	fmt.Fprintln(out, "scorecard")
	fmt.Fprintf(out, "  records produced     %d (%d undecodable on purpose, %d spikes)\n",
		produced.Load(), poisoned.Load(), spikes.Load())
	fmt.Fprintf(out, "  enriched             %d\n", counts.get(0))
	fmt.Fprintf(out, "  escalated            %d\n", counts.get(1))
	fmt.Fprintf(out, "  dead-lettered        %d\n", counts.get(2))
	fmt.Fprintf(out, "  records/s            %.0f (the generator's -rate bounds it)\n",
		float64(counts.get(0)+counts.get(2))/elapsed.Seconds())
	if lost := produced.Load() - counts.get(0) - counts.get(2); lost != 0 {
		return fmt.Errorf("%d records produced but neither enriched nor dead-lettered", lost)
	}
	return nil
}

func produceDemo(ctx context.Context, o demoOpts, brokers []string, topic string,
	produced, spikes, poisoned *atomic.Int64) {
	cl := mustClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	defer cl.Close()
	enc, _ := codec.NewEncoder(codec.EncoderOptions{})
	g := gen.New(o.seed, time.Now(), time.Second/time.Duration(o.rate))

	interval := time.Second / 50
	perTick := max(1, o.rate/50)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; ; {
		select {
		case <-ctx.Done():
			_ = cl.Flush(context.Background())
			return
		case <-tick.C:
		}
		for range perTick {
			n++
			var val, key []byte
			if o.poisonEvery > 0 && n%o.poisonEvery == 0 {
				val = gen.Poison(n / o.poisonEvery)
				poisoned.Add(1)
			} else {
				ev, spike := g.Next()
				if spike {
					spikes.Add(1)
				}
				key = []byte(ev.Entity)
				val, _ = enc.Event(ctx, topic, &ev)
			}
			cl.Produce(ctx, &kgo.Record{Key: key, Value: val}, func(_ *kgo.Record, err error) {
				if err == nil {
					produced.Add(1)
				}
			})
		}
	}
}

// outputCounts counts the records committed to the output topics.
type outputCounts struct {
	mu sync.Mutex
	n  [3]int64
}

func (c *outputCounts) get(i int) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[i]
}

func (c *outputCounts) follow(ctx context.Context, brokers, topics []string) {
	cl := mustClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	index := map[string]int{topics[0]: 0, topics[1]: 1, topics[2]: 2}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		c.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) { c.n[index[r.Topic]]++ })
		c.mu.Unlock()
	}
}

func waitReady(ctx context.Context, w *worker.Worker) {
	for ctx.Err() == nil && w.Ready() != nil {
		time.Sleep(50 * time.Millisecond)
	}
}

func mustClient(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		panic(fmt.Sprintf("client options are static and valid: %v", err))
	}
	return cl
}
