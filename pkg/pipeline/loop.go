package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Processor turns one consumed record into the records to produce for it.
//
// The loop calls Process from one goroutine at a time, in consumption
// order (offset order within each partition). A batch
// whose transaction aborts (after a rebalance, say) is processed again, so
// Process must not assume it sees a record once. It returns a *Rejection
// for a record that can never be processed; any other error is retried.
// The returned records need Topic set; the loop owns them after the call.
type Processor interface {
	Process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error)
}

// ProcessorFunc adapts a function to a Processor.
type ProcessorFunc func(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error)

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	return f(ctx, r)
}

// Copy returns a Processor that writes each record's key, value and
// headers unchanged to topic: the plain copy the worker is measured against.
func Copy(topic string) Processor {
	return ProcessorFunc(func(_ context.Context, r *kgo.Record) ([]*kgo.Record, error) {
		return []*kgo.Record{{Topic: topic, Key: r.Key, Value: r.Value, Headers: r.Headers}}, nil
	})
}

// Config is the loop's configuration. Zero durations and sizes take the
// defaults named on each field.
type Config struct {
	// Topics to consume; required.
	Topics []string
	// Group is the consumer group; required.
	Group string
	// WorkerID must be unique in the group and stable across restarts of
	// one worker: the transactional id is derived from it, so a restarted
	// worker fences its previous incarnation's open transaction.
	WorkerID string
	// DeadLetterTopic receives rejected records; required.
	DeadLetterTopic string
	// AtLeastOnce turns off transactions: outputs are flushed, then
	// offsets committed. Default: exactly once.
	AtLeastOnce bool
	// MaxRecordBytes is the largest value processed; larger ones are
	// dead-lettered with ReasonTooLarge. Default: 524288.
	MaxRecordBytes int
	// MaxOutputBytes is the largest record the producer can write; an
	// input whose outputs exceed it is dead-lettered. Default: 1000000.
	MaxOutputBytes int
	// MaxPollRecords bounds a batch, and so the work held by one
	// transaction. Default: 1000.
	MaxPollRecords int
	// Parallelism is how many goroutines decode and encode a batch for a
	// Staged processor; its Apply stage, and any other Processor, run on
	// one goroutine in consumption order. Default: GOMAXPROCS.
	Parallelism int
	// RetryBackoffMin and RetryBackoffMax bound the jittered exponential
	// backoff between tries of a transiently failing record, and between
	// Kafka sessions after a fatal client error. Defaults: 100ms and 10s.
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// ShutdownTimeout bounds finishing the open batch once the context is
	// cancelled. Default: 30s.
	ShutdownTimeout time.Duration
	// StateTopic is the compacted topic that keeps the state of a Stateful
	// processor, by input partition; required for one. It should have as
	// many partitions as the input topic: state partition p holds the
	// state of input partition p (modulo its partition count).
	StateTopic string
	// RestoreTimeout bounds reading the state of one partition. Default: 2m.
	RestoreTimeout time.Duration
	// TickInterval is the longest time between two calls of a Ticker
	// processor's Tick. Default: 1s.
	TickInterval time.Duration
	// ClientOpts are the connection options (brokers, TLS, SASL, logger,
	// hooks) and any group options (timeouts, instance id, start offset).
	// The loop adds the group, topics, isolation level and transactional
	// id itself.
	ClientOpts []kgo.Opt
	// StateClientOpts are the options of the short-lived clients that read
	// the state topic: the connection options of ClientOpts without its
	// hooks (a metrics hook registers each client it sees). Default:
	// ClientOpts.
	StateClientOpts []kgo.Opt
	// Metrics to count into; nil creates unregistered ones.
	Metrics *Metrics
	// Logger; nil logs nothing.
	Logger *zap.Logger
}

func (c *Config) defaults() {
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = 512 << 10
	}
	if c.MaxOutputBytes <= 0 {
		c.MaxOutputBytes = 1_000_000
	}
	if c.MaxPollRecords <= 0 {
		c.MaxPollRecords = 1000
	}
	if c.Parallelism <= 0 {
		c.Parallelism = runtime.GOMAXPROCS(0)
	}
	if c.RetryBackoffMin <= 0 {
		c.RetryBackoffMin = 100 * time.Millisecond
	}
	if c.RetryBackoffMax <= 0 {
		c.RetryBackoffMax = 10 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.RestoreTimeout <= 0 {
		c.RestoreTimeout = 2 * time.Minute
	}
	if c.TickInterval <= 0 {
		c.TickInterval = time.Second
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics(nil)
	}
	if c.StateClientOpts == nil {
		c.StateClientOpts = c.ClientOpts
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

func (c *Config) validate() error {
	var errs []error
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("no input topics"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("no consumer group"))
	}
	if c.WorkerID == "" && !c.AtLeastOnce {
		errs = append(errs, errors.New("no worker id (needed for the transactional id)"))
	}
	if c.DeadLetterTopic == "" {
		errs = append(errs, errors.New("no dead-letter topic"))
	}
	if c.RetryBackoffMin > c.RetryBackoffMax {
		errs = append(errs, fmt.Errorf("retry backoff min %v is over max %v",
			c.RetryBackoffMin, c.RetryBackoffMax))
	}
	return errors.Join(errs...)
}

// TransactionalID is the transactional id a worker uses in a group.
func TransactionalID(group, workerID string) string {
	return "triage-" + group + "-" + workerID
}

// Loop is the consume-transform-produce loop. Create it with New, run it
// with Run; Ready may be called from any goroutine.
type Loop struct {
	cfg  Config
	proc Processor
	log  *zap.Logger
	m    *Metrics

	mu      sync.Mutex // guards sess and pending
	sess    session    // the current session, nil between sessions
	pending string     // why the loop is not ready beyond the group state

	failures int // consecutive batches aborted by a transient failure; Run's goroutine only

	// For a Stateful processor, else nil and 0: the partitions owned and
	// their pending changes, and the state topic's partition count as of
	// the session's start.
	stateful        Stateful
	state           *stateTracker
	statePartitions int
	ticker          Ticker // the processor, if it is a Ticker
}

// New returns a loop over cfg that runs proc on every record.
func New(cfg Config, proc Processor) (*Loop, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid pipeline config: %w", err)
	}
	l := &Loop{cfg: cfg, proc: proc, log: cfg.Logger, m: cfg.Metrics}
	if st, ok := proc.(Stateful); ok {
		if cfg.StateTopic == "" {
			return nil, errors.New("invalid pipeline config: a stateful processor needs a state topic")
		}
		l.stateful = st
	}
	l.ticker, _ = proc.(Ticker)
	return l, nil
}

// Ready returns nil once the loop's consumer has joined its group and is
// not stuck retrying, and an error saying why not otherwise.
func (l *Loop) Ready() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sess == nil {
		return errors.New("no kafka session")
	}
	if l.pending != "" {
		return errors.New(l.pending)
	}
	if _, gen := l.sess.client().GroupMetadata(); gen < 0 {
		return errors.New("not yet joined to the consumer group")
	}
	return nil
}

func (l *Loop) setPending(why string) {
	l.mu.Lock()
	l.pending = why
	l.mu.Unlock()
}

// Run consumes until ctx is cancelled, then finishes or aborts the open
// batch, leaves the group and returns nil. A session that fails for good
// (a fenced producer, a lost transaction) is closed and a new one started
// after a backoff, so Run returns an error only for a configuration the
// client refuses.
func (l *Loop) Run(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		sess, err := l.newSession()
		if err != nil {
			return err
		}
		l.m.Sessions.Inc()
		l.mu.Lock()
		l.sess = sess
		l.mu.Unlock()

		err = sess.init(ctx)
		if err == nil {
			err = l.startState(ctx)
		}
		if err == nil {
			err = l.consume(ctx, sess)
		}

		l.mu.Lock()
		l.sess = nil
		l.mu.Unlock()
		sess.close()
		l.dropState()

		if ctx.Err() != nil {
			l.log.Info("pipeline stopped", zap.String("why", "context cancelled"))
			return nil
		}
		l.log.Error("kafka session failed; starting a new one", zap.Error(err),
			zap.Int("attempt", attempt+1))
		if !sleep(ctx, backoff(l.cfg.RetryBackoffMin, l.cfg.RetryBackoffMax, attempt)) {
			return nil
		}
	}
}

func (l *Loop) newSession() (session, error) {
	opts := append([]kgo.Opt{}, l.cfg.ClientOpts...)
	if l.stateful != nil {
		l.state = newStateTracker()
		opts = append(opts,
			kgo.OnPartitionsAssigned(l.state.assigned),
			kgo.OnPartitionsRevoked(l.state.lost),
			kgo.OnPartitionsLost(l.state.lost),
			kgo.RecordPartitioner(statePartitioner{
				topic: l.cfg.StateTopic,
				def:   kgo.UniformBytesPartitioner(64<<10, true, true, nil),
			}),
		)
	}
	opts = append(opts,
		kgo.ConsumerGroup(l.cfg.Group),
		kgo.ConsumeTopics(l.cfg.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ProducerBatchMaxBytes(int32(l.cfg.MaxOutputBytes)+1024),
	)
	if l.cfg.AtLeastOnce {
		return newAlosSession(opts)
	}
	opts = append(opts,
		kgo.TransactionalID(TransactionalID(l.cfg.Group, l.cfg.WorkerID)),
		kgo.RequireStableFetchOffsets(),
	)
	return newTxnSession(opts)
}

// consume runs batches on sess until ctx is cancelled or sess fails.
func (l *Loop) consume(ctx context.Context, sess session) error {
	nextTick := time.Now().Add(l.cfg.TickInterval)
	for {
		start := time.Now()
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if l.ticker != nil {
			// A Ticker must be called on time even when no record comes.
			pollCtx, cancel = context.WithDeadline(ctx, nextTick)
		}
		fetches := sess.poll(pollCtx, l.cfg.MaxPollRecords)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if fetches.IsClientClosed() {
			return errors.New("client closed")
		}
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) && pollCtx.Err() != nil {
				return // the poll waited until the tick, not an error
			}
			fetchErr = err
			l.log.Warn("fetch error", zap.String("topic", topic), zap.Int32("partition", p),
				zap.Error(err))
		})
		if fetches.NumRecords() > 0 {
			l.m.Stage.WithLabelValues("poll").Observe(time.Since(start).Seconds())
			l.observeLag(fetches)
			if err := l.batch(ctx, sess, fetches); err != nil {
				return err
			}
		} else if fetchErr != nil {
			// Errors without records: let the client recover before
			// polling again rather than spin.
			if !sleep(ctx, l.cfg.RetryBackoffMin) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if now := time.Now(); l.ticker != nil && !now.Before(nextTick) {
			if err := l.tick(ctx, sess, now); err != nil {
				return err
			}
			nextTick = time.Now().Add(l.cfg.TickInterval)
		}
		if ts, ok := l.ticker.(TickScheduler); ok {
			// A time already past, for work a tick could not do yet, must
			// not turn the loop into a spin.
			now := time.Now()
			if at, ok := ts.NextTick(now); ok && at.Before(nextTick) {
				nextTick = at
				if soonest := now.Add(minTickGap); nextTick.Before(soonest) {
					nextTick = soonest
				}
			}
		}
	}
}

// batch processes one polled batch and ends it. Outputs are produced as
// each record is processed, so the client batches and sends them while the
// next records are processed. A transient failure aborts the batch, which
// rewinds the consumer to the last commit, and waits a backoff: the batch is
// polled and processed again, and no transaction stays open while a
// dependency is down. batch returns an error only when the session is no
// longer usable.
func (l *Loop) batch(ctx context.Context, sess session, fetches kgo.Fetches) error {
	// Once begun, the batch is ended even if ctx is cancelled, within the
	// shutdown timeout, so a stop never leaves a transaction open.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.ShutdownTimeout)
	defer cancel()

	start := time.Now()
	if err := sess.begin(); err != nil {
		return fmt.Errorf("unable to begin transaction: %w", err)
	}

	// Every output's promise reports into out; the batch commits only once
	// all of them have run without an error. A promise can run after Flush
	// returns (the client fails a record it could not even buffer, such as
	// one for a missing topic, from another goroutine), so the batch waits
	// for the promises themselves, not for the flush alone.
	out := newPromises()
	produce := func(o *kgo.Record) {
		out.add()
		sess.produce(endCtx, o, out.done)
	}
	if l.stateful != nil {
		// The state of newly assigned partitions must be in place before
		// their records; the batch is rewound if it cannot be read.
		if err := l.syncState(ctx, l.stateful); err != nil {
			return l.abortAndWait(ctx, endCtx, sess, err)
		}
	}
	pctx := context.WithValue(ctx, batchTimeKey{}, start)
	outCounts, vals, failed := l.processAll(pctx, fetches, produce)
	if failed == nil {
		l.checkpoint(produce, outCounts)
	}
	l.m.Stage.WithLabelValues("process").Observe(time.Since(start).Seconds())

	if failed != nil {
		l.rollBackState()
		err := l.abortAndWait(ctx, endCtx, sess, failed)
		if err == nil && out.wait(endCtx) == nil {
			l.recycle(vals)
		}
		return err
	}

	start = time.Now()
	produceErr := sess.flush(endCtx)
	if produceErr == nil {
		produceErr = out.wait(endCtx)
	}
	if produceErr == nil {
		produceErr = out.firstErr()
	}
	committed, err := sess.end(endCtx, produceErr == nil)
	l.m.Stage.WithLabelValues("commit").Observe(time.Since(start).Seconds())
	if err != nil || !committed {
		l.rollBackState()
	}
	if err != nil {
		l.m.Batches.WithLabelValues("abort").Inc()
		return fmt.Errorf("unable to end batch: %w", err)
	}
	if out.wait(endCtx) == nil {
		l.recycle(vals)
	}
	if !committed {
		l.m.Batches.WithLabelValues("abort").Inc()
		if produceErr != nil {
			// An output topic that is missing or refuses writes fails every
			// try alike: wait before the batch is consumed again.
			l.backOff(ctx, produceErr)
			return nil
		}
		l.log.Info("batch aborted by the group (a rebalance or a refused commit); "+
			"it will be consumed again",
			zap.Int("records", fetches.NumRecords()))
		return nil
	}
	l.m.Batches.WithLabelValues("commit").Inc()
	for topic, n := range outCounts {
		l.m.RecordsOut.WithLabelValues(topic).Add(float64(n))
	}
	if l.failures > 0 {
		l.log.Info("processing recovered", zap.Int("failed_tries", l.failures))
		l.failures = 0
		l.setPending("")
	}
	return nil
}

type batchTimeKey struct{}

// BatchTime returns, from the context the loop passes to a Processor, the
// time the loop began processing the record's batch: a processing time
// for records that costs no clock read per record.
func BatchTime(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(batchTimeKey{}).(time.Time)
	return t, ok
}

// recycle hands the values of an ended batch, whose promises have all
// run, back to a Recycler processor.
func (l *Loop) recycle(vals []any) {
	r, ok := l.proc.(Recycler)
	if !ok {
		return
	}
	for _, v := range vals {
		if v != nil {
			r.Recycle(v)
		}
	}
}

// promises tracks the produce promises of one batch: how many have not run
// yet, and the first error one reported.
type promises struct {
	pending atomic.Int64
	// zero has room for one token, sent when pending drops to 0. The
	// count can touch 0 before the batch has produced everything, so a
	// token is only a hint for wait to look at pending again.
	zero chan struct{}

	mu  sync.Mutex // guards err
	err error
}

func newPromises() *promises { return &promises{zero: make(chan struct{}, 1)} }

// add counts one more record handed to the client.
func (p *promises) add() { p.pending.Add(1) }

// done is the promise of every record of the batch.
func (p *promises) done(r *kgo.Record, err error) {
	if err != nil {
		p.mu.Lock()
		if p.err == nil {
			p.err = fmt.Errorf("unable to produce to %s: %w", r.Topic, err)
		}
		p.mu.Unlock()
	}
	if p.pending.Add(-1) == 0 {
		select {
		case p.zero <- struct{}{}:
		default:
		}
	}
}

// wait returns once every promise of the records added so far has run, or
// an error if ctx ends first. It must be called once the batch has added
// all its records.
func (p *promises) wait(ctx context.Context) error {
	for n := p.pending.Load(); n != 0; n = p.pending.Load() {
		select {
		case <-p.zero:
		case <-ctx.Done():
			return fmt.Errorf("%d produce promises still pending: %w", n, ctx.Err())
		}
	}
	return nil
}

// firstErr is the first error a promise reported.
func (p *promises) firstErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// processAll processes the records of a batch in consumption order and
// hands each output to produce. A Staged processor spreads the batch over
// cores (see processStaged); any other runs on this goroutine. It returns
// the count of outputs by topic, the values a Staged processor decoded,
// and the first transient failure, after which the rest of the batch is
// left unprocessed.
func (l *Loop) processAll(ctx context.Context, fetches kgo.Fetches, produce func(*kgo.Record),
) (map[string]int, []any, error) {
	if sp, ok := l.proc.(Staged); ok && fetches.NumRecords() >= minStagedBatch {
		return l.processStaged(ctx, sp, fetches.Records(), produce)
	}
	counts := tally{m: make(map[string]int, 4)}
	consumed := tally{m: make(map[string]int, 1)}
	var failed error
	fetches.EachRecord(func(r *kgo.Record) {
		if failed != nil {
			return
		}
		outs, err := l.process(ctx, r)
		if err != nil {
			failed = fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
			return
		}
		consumed.add(r.Topic)
		for _, o := range outs {
			counts.add(o.Topic)
			produce(o)
		}
	})
	l.m.addIn(consumed.done())
	return counts.done(), nil, failed
}

// abortAndWait aborts the open batch after a transient failure or a
// cancellation, then, unless ctx is done, waits the backoff for the number
// of consecutive failures so far.
func (l *Loop) abortAndWait(ctx, endCtx context.Context, sess session, failed error) error {
	if _, err := sess.end(endCtx, false); err != nil {
		l.m.Batches.WithLabelValues("abort").Inc()
		return fmt.Errorf("unable to abort batch: %w", err)
	}
	l.m.Batches.WithLabelValues("abort").Inc()
	l.backOff(ctx, failed)
	return nil
}

// backOff waits, after a batch was aborted by a failure that should pass,
// for the backoff of the consecutive failures so far, and says why the loop
// is not ready meanwhile. The next committed batch clears both.
func (l *Loop) backOff(ctx context.Context, failed error) {
	if ctx.Err() != nil {
		return
	}
	l.m.Retries.Inc()
	wait := backoff(l.cfg.RetryBackoffMin, l.cfg.RetryBackoffMax, l.failures)
	if l.failures%10 == 0 {
		l.log.Warn("transient failure; batch aborted, retrying after backoff",
			zap.Error(failed), zap.Int("failed_tries", l.failures+1),
			zap.Duration("backoff", wait))
	}
	l.failures++
	l.setPending("retrying a transient failure: " + failed.Error())
	sleep(ctx, wait)
}

// process runs the processor on r. It turns rejections, and inputs or
// outputs over the size limits, into a dead letter; any other error is
// returned for the batch to retry.
func (l *Loop) process(ctx context.Context, r *kgo.Record) ([]*kgo.Record, error) {
	if len(r.Value) > l.cfg.MaxRecordBytes {
		err := fmt.Errorf("value is %d bytes, over the limit of %d", len(r.Value),
			l.cfg.MaxRecordBytes)
		return l.reject(r, &Rejection{Reason: ReasonTooLarge, Err: err}), nil
	}
	outs, err := l.safeProcess(ctx, r)
	if err != nil {
		if rej, ok := AsRejection(err); ok {
			return l.reject(r, rej), nil
		}
		return nil, err
	}
	if _, rej := l.checkOutputs(outs); rej != nil {
		return l.reject(r, rej), nil
	}
	return outs, nil
}

// checkOutputs returns outs, or a rejection when one of them is too large
// to ever be produced.
func (l *Loop) checkOutputs(outs []*kgo.Record) ([]*kgo.Record, *Rejection) {
	for _, o := range outs {
		if n := recordSize(o); n > l.cfg.MaxOutputBytes {
			return nil, &Rejection{Reason: ReasonOutputTooLarge, Err: fmt.Errorf(
				"output to %s is %d bytes, over the limit of %d", o.Topic, n, l.cfg.MaxOutputBytes)}
		}
	}
	return outs, nil
}

func (l *Loop) safeProcess(ctx context.Context, r *kgo.Record) (_ []*kgo.Record, err error) {
	defer recoverStage(&err)
	return l.proc.Process(ctx, r)
}

func (l *Loop) reject(r *kgo.Record, rej *Rejection) []*kgo.Record {
	l.m.DeadLettered.WithLabelValues(r.Topic, rej.Reason).Inc()
	l.log.Debug("record dead-lettered", zap.String("topic", r.Topic),
		zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset),
		zap.String("reason", rej.Reason), zap.Error(rej.Err))
	return []*kgo.Record{deadLetter(l.cfg.DeadLetterTopic, l.cfg.WorkerID, r, rej)}
}

func (l *Loop) observeLag(fetches kgo.Fetches) {
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		end := p.LastStableOffset
		if end <= 0 {
			end = p.HighWatermark
		}
		next := p.Records[len(p.Records)-1].Offset + 1
		lag := float64(end - next)
		if lag < 0 {
			lag = 0
		}
		l.m.Lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition))).Set(lag)
	})
}

// backoff is the jittered exponential wait before try attempt+1.
func backoff(min, max time.Duration, attempt int) time.Duration {
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	// Full jitter on the upper half keeps waits from synchronising
	// across workers while never dropping below half the step.
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
