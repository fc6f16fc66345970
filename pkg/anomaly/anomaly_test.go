package anomaly

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamtriage/triage/pkg/detect"
	"github.com/streamtriage/triage/pkg/record"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newTagger(t *testing.T) *Tagger {
	t.Helper()
	cfg := detect.DefaultConfig()
	cfg.Warmup = 50
	tg, err := New(Config{Detector: cfg, MaxBytes: 16 << 20}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// event is the i-th point of entity's series on partition p, one a minute.
func event(p int32, entity string, i int, latency float64) *record.Enriched {
	return &record.Enriched{
		Event: record.Event{
			Entity:  entity,
			Time:    t0.Add(time.Duration(i) * time.Minute),
			Metrics: record.MetricsOf(map[string]float64{"latency_ms": latency}),
		},
		Provenance: record.Provenance{Topic: "events", Partition: p, Offset: int64(i)},
	}
}

func tag(t *testing.T, tg *Tagger, e *record.Enriched) *record.Enriched {
	t.Helper()
	if err := tg.Tag(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return e
}

func noisy(r *rand.Rand) float64 { return 100 + 5*r.NormFloat64() }

func TestTaggerExplainsMetricsAndFlagsASpike(t *testing.T) {
	tg := newTagger(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		e := tag(t, tg, event(0, "api", i, noisy(r)))
		switch {
		case i < 49 && e.Anomaly != nil:
			t.Fatalf("point %d: got %+v during the warm-up, want no anomaly", i, e.Anomaly)
		case i >= 49 && (e.Anomaly == nil || len(e.Anomaly.Metrics) != 1):
			t.Fatalf("point %d: got %+v, want latency_ms explained", i, e.Anomaly)
		}
	}
	e := tag(t, tg, event(0, "api", 400, 900))
	if e.Anomaly == nil || !e.Anomaly.Flagged || !e.Escalate {
		t.Fatalf("got %+v, want the spike flagged", e.Anomaly)
	}
	m := e.Anomaly.Metrics[0]
	if m.Direction != record.DirectionUp || m.Value != 900 || m.Expected > 150 ||
		m.Upper >= 900 || m.Contribution != e.Anomaly.Score {
		t.Errorf("got %+v, want an upward move from about 100 above the band", m)
	}
	if len(e.Reasons) != 1 || e.Reasons[0] != "anomaly: latency_ms up" {
		t.Errorf("got reasons %q, want [anomaly: latency_ms up]", e.Reasons)
	}
	if b := tg.Baselines("api"); len(b) != 1 || b[0].Metric != "latency_ms" || b[0].Samples != 401 {
		t.Errorf("got baselines %+v, want latency_ms after 401 points", b)
	}
}

// TestRestoredTaggerContinuesAsTheOriginal checkpoints a tagger halfway
// through two partitions' series, restores one partition into a new tagger,
// and feeds both the rest: every result must be the same, bit for bit.
func TestRestoredTaggerContinuesAsTheOriginal(t *testing.T) {
	orig := newTagger(t)
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]float64, 600)
	for i := range vals {
		vals[i] = noisy(r)
		if i%97 == 0 {
			vals[i] *= 4
		}
	}
	type kv struct {
		key   string
		value []byte
	}
	saved := map[int32][]kv{}
	emit := func(_ string, p int32, k string, v []byte) { saved[p] = append(saved[p], kv{k, v}) }
	for i := range 300 {
		tag(t, orig, event(0, "api", i, vals[i]))
		tag(t, orig, event(1, "db", i, vals[i]))
		if i%50 == 49 {
			orig.Checkpoint(emit)
		}
	}
	orig.Checkpoint(emit) // nothing new: the last call was at 299

	restored := newTagger(t)
	entries := func(yield func(string, []byte) bool) {
		for _, e := range saved[1] {
			if !yield(e.key, e.value) {
				return
			}
		}
	}
	if err := restored.Restore("events", 1, entries); err != nil {
		t.Fatal(err)
	}
	other := restored.part(partKey{"events", 0}).prefix + "api\x00latency_ms"
	if _, ok := restored.store.Get(other); ok {
		t.Error("got partition 0's series restored from partition 1's entries")
	}
	for i := 300; i < len(vals); i++ {
		a := tag(t, orig, event(1, "db", i, vals[i])).Anomaly
		b := tag(t, restored, event(1, "db", i, vals[i])).Anomaly
		if a.Score != b.Score || a.Flagged != b.Flagged || a.Metrics[0] != b.Metrics[0] {
			t.Fatalf("point %d: got %+v after the restore, want %+v", i, b, a)
		}
	}
}

func TestTaggerDoesNotLearnLateRecords(t *testing.T) {
	tg := newTagger(t)
	for i := range 100 {
		tag(t, tg, event(0, "api", 120+i, 100))
	}
	d, _ := tg.store.Get(tg.part(partKey{"events", 0}).prefix + "api\x00latency_ms")
	before := d.Points()
	e := tag(t, tg, event(0, "api", 0, 1e6)) // two hours behind the partition's latest
	if e.Anomaly != nil || e.Escalate {
		t.Errorf("got %+v, want a late record left alone", e.Anomaly)
	}
	if d.Points() != before {
		t.Errorf("got %d points learned, want still %d", d.Points(), before)
	}
	if got := testutil.ToFloat64(tg.late); got != 1 {
		t.Errorf("got %v late records counted, want 1", got)
	}
	tag(t, tg, event(0, "api", 200, 100)) // within the hour: learned
	if d.Points() != before+1 {
		t.Errorf("got %d points learned, want %d", d.Points(), before+1)
	}
}

func TestRevokeForgetsOnlyThatPartition(t *testing.T) {
	tg := newTagger(t)
	for i := range 10 {
		tag(t, tg, event(0, "api", i, 100))
		tag(t, tg, event(1, "db", i, 100))
	}
	tg.Revoke("events", 0)
	if got := tg.store.Len(); got != 1 {
		t.Errorf("got %d series after the revoke, want 1", got)
	}
	if _, ok := tg.store.Get(tg.part(partKey{"events", 1}).prefix + "db\x00latency_ms"); !ok {
		t.Error("got partition 1's series dropped too")
	}
}

func TestTaggerIgnoresNonFiniteAndUnwatchedMetrics(t *testing.T) {
	cfg := detect.DefaultConfig()
	cfg.Warmup = 1
	tg, err := New(Config{Detector: cfg, MaxBytes: 16 << 20, Metrics: []string{"latency_ms"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := event(0, "api", 0, math.Inf(1))
	e.Event.Metrics = record.MetricsOf(map[string]float64{"latency_ms": math.Inf(1), "cpu": 5})
	tag(t, tg, e)
	if tg.store.Len() != 1 {
		t.Errorf("got %d series, want only latency_ms watched", tg.store.Len())
	}
	if e.Escalate {
		t.Errorf("got an infinite value flagged: %q", e.Reasons)
	}
}
