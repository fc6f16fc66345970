package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/gen"
	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/pipeline"
	"github.com/streamtriage/triage/pkg/record"
)

// offsetKey names one input record by where it was consumed from.
type offsetKey struct {
	partition int32
	offset    int64
}

// TestExactlyOnceUnderCrashes runs the worker binary over 100,000 records,
// 1% of them poison, kills it with SIGKILL twice mid-stream and restarts
// it, then checks with a read_committed consumer that every good record is
// in the enriched topic exactly once and every poison record is in the
// dead-letter topic exactly once. A second worker group then runs over the
// same input without a kill: the records the crashed run escalated, and
// why, must be those the reference run escalated, which holds only if the
// detectors' state came back from the state topic after each kill.
func TestExactlyOnceUnderCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: produces and processes 100,000 records twice")
	}
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		const (
			total       = 100_000
			poisonEvery = 100
			partitions  = 4
		)
		in := c.Topic(t, "crash-in", partitions, nil)
		good, poison := produceCrashInput(t, c, in, total, poisonEvery)

		crashed := newCrashTopics(t, c, "crash", partitions)
		progress := newTopicCounter(t, c, crashed.out, crashed.dlq)
		cfgPath := writeWorkerConfig(t, c.Brokers, in, crashed)
		// Two abrupt kills at a third and at two thirds of the stream, each
		// while the worker is busy, then a clean run to the end.
		for i, at := range []int64{total / 3, 2 * total / 3} {
			w := startWorker(t, cfgPath, fmt.Sprintf("run-%d", i+1))
			progress.waitFor(t, at, 3*time.Minute)
			w.kill(t)
		}
		w := startWorker(t, cfgPath, "run-3")
		progress.waitFor(t, total, 3*time.Minute)
		w.stop(t)
		escalated := checkExactlyOnce(t, c, crashed.out, crashed.dlq, good, poison)

		ref := newCrashTopics(t, c, "ref", partitions)
		refProgress := newTopicCounter(t, c, ref.out, ref.dlq)
		w = startWorker(t, writeWorkerConfig(t, c.Brokers, in, ref), "reference")
		refProgress.waitFor(t, total, 3*time.Minute)
		w.stop(t)
		refEscalated := checkExactlyOnce(t, c, ref.out, ref.dlq, good, poison)

		var extra, missing, differ int
		for k, why := range escalated {
			switch refWhy, ok := refEscalated[k]; {
			case !ok:
				extra++
			case refWhy != why:
				differ++
			}
		}
		for k := range refEscalated {
			if _, ok := escalated[k]; !ok {
				missing++
			}
		}
		if extra+missing+differ > 0 {
			t.Errorf("crashed run escalated %d records the reference run did not, missed %d, "+
				"and gave other reasons for %d (of %d escalated by the reference run)",
				extra, missing, differ, len(refEscalated))
		}
		if len(refEscalated) == 0 {
			t.Error("the reference run escalated nothing: the comparison shows nothing")
		}
		t.Logf("both runs escalated the same %d records for the same reasons",
			len(refEscalated))
	})
}

// crashTopics are the output topics of one worker group.
type crashTopics struct {
	group, out, esc, dlq, state string
}

func newCrashTopics(t *testing.T, c *kafkatest.Cluster, prefix string, partitions int32,
) crashTopics {
	t.Helper()
	compact := "compact"
	return crashTopics{
		group: c.Group(t, prefix),
		out:   c.Topic(t, prefix+"-enriched", partitions, nil),
		esc:   c.Topic(t, prefix+"-escalations", partitions, nil),
		dlq:   c.Topic(t, prefix+"-dlq", partitions, nil),
		state: c.Topic(t, prefix+"-state", partitions,
			map[string]*string{"cleanup.policy": &compact}),
	}
}

func produceCrashInput(t *testing.T, c *kafkatest.Cluster, topic string, total, poisonEvery int,
) (good, poison map[offsetKey]bool) {
	t.Helper()
	cl := c.Client(t, kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(20_000))
	enc, err := codec.NewEncoder(codec.EncoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := gen.New(7, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Millisecond)
	good = make(map[offsetKey]bool, total)
	poison = make(map[offsetKey]bool, total/poisonEvery)

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		perr error
	)
	ctx := context.Background()
	for i := 1; i <= total; i++ {
		var key, val []byte
		isPoison := i%poisonEvery == 0
		if isPoison {
			val = gen.Poison(i / poisonEvery)
			key = []byte(fmt.Sprintf("poison-%d", i))
		} else {
			ev, _ := g.Next()
			if val, err = enc.Event(ctx, topic, &ev); err != nil {
				t.Fatal(err)
			}
			key = []byte(ev.Entity)
		}
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Key: key, Value: val}, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				perr = err
				return
			}
			k := offsetKey{r.Partition, r.Offset}
			if isPoison {
				poison[k] = true
			} else {
				good[k] = true
			}
		})
	}
	wg.Wait()
	if perr != nil {
		t.Fatalf("producing input: %v", perr)
	}
	return good, poison
}

func writeWorkerConfig(t *testing.T, brokers []string, in string, ct crashTopics) string {
	t.Helper()
	yaml := fmt.Sprintf(`worker_id: crash-worker
kafka:
  brokers: [%s]
  session_timeout: 6s
  rebalance_timeout: 10s
  instance_id: crash-worker
input:
  topics: [%s]
  group: %s
  max_poll_records: 1000
output:
  enriched_topic: %s
  escalation_topic: %s
  dead_letter_topic: %s
  state_topic: %s
rules:
  - metric: latency_ms
    above: 400
http:
  listen: ""
log:
  level: info
  format: json
`, strings.Join(brokers, ", "), in, ct.group, ct.out, ct.esc, ct.dlq, ct.state)
	p := filepath.Join(t.TempDir(), "worker.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p); err != nil {
		t.Fatalf("test config is invalid: %v", err)
	}
	return p
}

// child is a worker process started from the test binary.
type child struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	name string
	done chan error
}

func startWorker(t *testing.T, cfgPath, name string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "worker", "--config", cfgPath)
	cmd.Env = append(os.Environ(), execMainEnv+"=1")
	buf := &bytes.Buffer{}
	cmd.Stdout = buf
	cmd.Stderr = buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting worker %s: %v", name, err)
	}
	c := &child{cmd: cmd, log: buf, name: name, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("log of worker %s (last 4 KiB):\n%s", name, tail(buf.Bytes(), 4096))
		}
	})
	return c
}

// kill ends the worker abruptly, as a crash or an OOM kill would.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing worker %s: %v", c.name, err)
	}
	<-c.done
	t.Logf("worker %s killed with SIGKILL", c.name)
}

// stop ends the worker with SIGTERM and expects a clean exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signalling worker %s: %v", c.name, err)
	}
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("worker %s exited with %v after SIGTERM, want exit 0", c.name, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("worker %s did not exit within 60s of SIGTERM", c.name)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// topicCounter counts records committed to some topics, in the background.
type topicCounter struct {
	mu sync.Mutex
	n  int64
}

func newTopicCounter(t *testing.T, c *kafkatest.Cluster, topics ...string) *topicCounter {
	t.Helper()
	tc := &topicCounter{}
	cl := c.Client(t, kgo.ConsumeTopics(topics...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil || fs.IsClientClosed() {
				return
			}
			tc.mu.Lock()
			tc.n += int64(fs.NumRecords())
			tc.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return tc
}

func (tc *topicCounter) count() int64 {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.n
}

func (tc *topicCounter) waitFor(t *testing.T, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for tc.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d records committed, want at least %d", timeout, tc.count(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkExactlyOnce reads the enriched and dead-letter topics to their end
// and matches every record to the input it came from. It returns the
// inputs whose enriched record is escalated, with the reasons.
func checkExactlyOnce(t *testing.T, c *kafkatest.Cluster, out, dlq string,
	good, poison map[offsetKey]bool) map[offsetKey]string {
	t.Helper()
	dec, err := codec.NewDecoder(codec.DecoderOptions{Mapping: config.Default().Input.Mapping})
	if err != nil {
		t.Fatal(err)
	}
	seenGood := make(map[offsetKey]int, len(good))
	escalated := map[offsetKey]string{}
	for _, r := range c.ReadAll(t, out, len(good)+1, 5*time.Second) {
		_, native, err := dec.Native(context.Background(), r.Value)
		if err != nil {
			t.Fatalf("enriched record at offset %d does not decode: %v", r.Offset, err)
		}
		en, err := record.EnrichedFromNative(native)
		if err != nil {
			t.Fatalf("enriched record at offset %d: %v", r.Offset, err)
		}
		k := offsetKey{en.Provenance.Partition, en.Provenance.Offset}
		seenGood[k]++
		if en.Escalate {
			escalated[k] = strings.Join(en.Reasons, "; ")
		}
	}
	seenPoison := make(map[offsetKey]int, len(poison))
	for _, r := range c.ReadAll(t, dlq, len(poison)+1, 5*time.Second) {
		p, _ := pipeline.Header(r, pipeline.HeaderSourcePartition)
		o, _ := pipeline.Header(r, pipeline.HeaderSourceOffset)
		pn, err1 := strconv.ParseInt(p, 10, 32)
		on, err2 := strconv.ParseInt(o, 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("dead letter without source headers: %q %q", p, o)
		}
		if reason, _ := pipeline.Header(r, pipeline.HeaderReason); reason == "" {
			t.Errorf("dead letter for %s/%s has no reason header", p, o)
		}
		seenPoison[offsetKey{int32(pn), on}]++
	}

	checkOnce(t, "enriched", good, seenGood)
	checkOnce(t, "dead-letter", poison, seenPoison)
	t.Logf("%d good records enriched once each, %d poison records dead-lettered once each",
		len(good), len(poison))
	return escalated
}

func checkOnce(t *testing.T, what string, want map[offsetKey]bool, got map[offsetKey]int) {
	t.Helper()
	var missing, dup, stray int
	for k := range want {
		switch n := got[k]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	for k := range got {
		if !want[k] {
			stray++
		}
	}
	if missing+dup+stray > 0 {
		t.Errorf("%s topic: %d of %d inputs missing, %d duplicated, %d records from other inputs",
			what, missing, len(want), dup, stray)
	}
}
