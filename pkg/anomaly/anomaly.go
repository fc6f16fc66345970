// Package anomaly is the worker's anomaly tagger: one online detector
// (package detect) per entity and metric, fed in event-time order by the
// records of each input partition, that explains every metric of a record
// and flags the record when one of them is anomalous. Its state is kept per
// input partition so that the worker can checkpoint it to Kafka and hand it
// to whichever worker owns the partition next.
//
// It knows nothing of Kafka: the pipeline decides when to checkpoint, and
// where the entries go.
package anomaly

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtriage/triage/pkg/detect"
	"github.com/streamtriage/triage/pkg/record"
)

// Config configures a Tagger.
type Config struct {
	// Detector is the configuration of every series' detector.
	Detector detect.Config
	// MaxBytes bounds the memory of the detectors; the least recently
	// updated series is forgotten first. Default: 256 MiB.
	MaxBytes int64
	// Lateness is how far behind the latest event time seen in its input
	// partition a record may be and still be learned. A later record is
	// tagged with nothing from the detectors and does not change them.
	// Default: 1h.
	Lateness time.Duration
	// Metrics, when not empty, are the only metrics watched.
	Metrics []string
}

func (c *Config) defaults() {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 256 << 20
	}
	if c.Lateness <= 0 {
		c.Lateness = time.Hour
	}
}

// typicalKeyLen is the series key length the memory bound is sized for:
// topic, partition, entity and metric.
const typicalKeyLen = 48

// watermarkKey is the state key of a partition's latest event time. Series
// keys always hold a 0 byte between entity and metric, which it has not.
const watermarkKey = "watermark"

type partKey struct {
	topic     string
	partition int32
}

// part is the state of one input partition beside its series.
type part struct {
	prefix    string    // of its series keys in the store
	watermark time.Time // latest event time learned
	dirty     map[string]struct{}
	wmDirty   bool
}

// Tagger is the anomaly tagger. It is not safe for concurrent use: the
// worker calls it from one goroutine, in consumption order.
type Tagger struct {
	cfg     Config
	watched map[string]bool
	store   *detect.Store
	parts   map[partKey]*part

	// baselines of the entity last tagged, for Baselines.
	lastEntity string
	baselines  []record.Baseline

	late      prometheus.Counter
	evictions prometheus.CounterFunc
	series    prometheus.GaugeFunc
	dropped   prometheus.Counter
}

// New returns a tagger for cfg and registers its metrics with reg, which may
// be nil.
func New(cfg Config, reg prometheus.Registerer) (*Tagger, error) {
	cfg.defaults()
	if err := cfg.Detector.Validate(); err != nil {
		return nil, err
	}
	max := detect.MaxSeriesFor(cfg.MaxBytes, typicalKeyLen)
	if max < 1 {
		return nil, fmt.Errorf("anomaly: max bytes %d holds no series", cfg.MaxBytes)
	}
	t := &Tagger{
		cfg:   cfg,
		store: detect.NewStore(cfg.Detector, max),
		parts: map[partKey]*part{},
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_anomaly_late_records_total",
			Help: "Records too far behind their partition's event time to be learned.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_anomaly_snapshots_dropped_total",
			Help: "Restored series snapshots dropped because the detector settings changed.",
		}),
	}
	if len(cfg.Metrics) > 0 {
		t.watched = map[string]bool{}
		for _, m := range cfg.Metrics {
			t.watched[m] = true
		}
	}
	t.evictions = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "triage_anomaly_series_evicted_total",
		Help: "Series forgotten, least recently updated first, to stay within the memory bound.",
	}, func() float64 { return float64(t.store.Evictions()) })
	t.series = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "triage_anomaly_series",
		Help: "Series (entity and metric) with a detector in memory.",
	}, func() float64 { return float64(t.store.Len()) })
	if reg != nil {
		for _, c := range []prometheus.Collector{t.late, t.dropped, t.evictions, t.series} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("anomaly: %w", err)
			}
		}
	}
	return t, nil
}

// Name returns "anomaly".
func (*Tagger) Name() string { return "anomaly" }

// MaxSeries is how many series the tagger keeps at most.
func (t *Tagger) MaxSeries() int { return t.store.Cap() }

func (t *Tagger) part(pk partKey) *part {
	p, ok := t.parts[pk]
	if !ok {
		p = &part{
			prefix: pk.topic + "\x00" + strconv.Itoa(int(pk.partition)) + "\x00",
			dirty:  map[string]struct{}{},
		}
		t.parts[pk] = p
	}
	return p
}

// Tag feeds each watched metric of the event to its series' detector and
// explains it in e.Anomaly once the series is warm: value, expected value,
// band, direction, and its score as contribution. The record's score is
// the highest of its metrics'; a flagged metric flags the record with the
// reason "anomaly: METRIC up" (or down).
func (t *Tagger) Tag(_ context.Context, e *record.Enriched) error {
	ev := &e.Event
	t.lastEntity, t.baselines = ev.Entity, t.baselines[:0]
	if len(ev.Metrics) == 0 {
		return nil
	}
	p := t.part(partKey{e.Provenance.Topic, e.Provenance.Partition})
	at := ev.Time
	if !p.watermark.IsZero() && at.Before(p.watermark.Add(-t.cfg.Lateness)) {
		t.late.Inc()
		return nil
	}
	if at.After(p.watermark) {
		p.watermark, p.wmDirty = at, true
	}
	for _, m := range ev.Metrics {
		if t.watched != nil && !t.watched[m.Name] {
			continue
		}
		key := ev.Entity + "\x00" + m.Name
		d, _ := t.store.Detector(p.prefix + key)
		res := d.Update(at, m.Value)
		p.dirty[key] = struct{}{}
		if !res.Warm {
			continue
		}
		t.baselines = append(t.baselines, record.Baseline{
			Metric: m.Name, Expected: res.Expected, Lower: res.Lower, Upper: res.Upper,
			Samples: d.Points(),
		})
		if e.Anomaly == nil {
			e.Anomaly = &record.Anomaly{}
		}
		e.Anomaly.Metrics = append(e.Anomaly.Metrics, record.MetricAnomaly{
			Metric:       m.Name,
			Value:        m.Value,
			Expected:     res.Expected,
			Lower:        finite(res.Lower),
			Upper:        finite(res.Upper),
			Direction:    direction(res.Dir),
			Contribution: res.Score,
		})
		e.Anomaly.Score = math.Max(e.Anomaly.Score, res.Score)
		if res.Flagged {
			e.Anomaly.Flagged = true
			e.Flag("anomaly: " + m.Name + " " + string(direction(res.Dir)))
		}
	}
	return nil
}

func direction(d detect.Direction) record.Direction {
	switch d {
	case detect.Up:
		return record.DirectionUp
	case detect.Down:
		return record.DirectionDown
	}
	return record.DirectionNone
}

// finite clamps infinite band ends to the largest finite double, which
// every consumer of the Avro record can read.
func finite(v float64) float64 {
	switch {
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// Baselines returns what the detectors expected of the entity's metrics as
// of its last record, when that record is the last one tagged: the worker
// asks right after tagging the record it escalates.
func (t *Tagger) Baselines(entity string) []record.Baseline {
	if entity != t.lastEntity || len(t.baselines) == 0 {
		return nil
	}
	return append([]record.Baseline(nil), t.baselines...)
}

// Checkpoint calls emit with the state changed since the last call, by input
// partition: a snapshot of each series updated, nil for one forgotten
// since, and the partition's watermark.
func (t *Tagger) Checkpoint(emit func(topic string, partition int32, key string, value []byte)) {
	for pk, p := range t.parts {
		for key := range p.dirty {
			d, ok := t.store.Get(p.prefix + key)
			if !ok {
				emit(pk.topic, pk.partition, key, nil)
				continue
			}
			snap, err := d.AppendBinary(make([]byte, 0, detect.SnapshotSize))
			if err != nil {
				continue // cannot happen for a live detector
			}
			emit(pk.topic, pk.partition, key, snap)
		}
		clear(p.dirty)
		if p.wmDirty {
			emit(pk.topic, pk.partition, watermarkKey,
				strconv.AppendInt(nil, p.watermark.UnixMilli(), 10))
			p.wmDirty = false
		}
	}
}

// Restore replaces the state of an input partition with entries. A snapshot
// taken with other learning settings is dropped (the series warms up again)
// and counted; any other bad entry fails the restore.
func (t *Tagger) Restore(topic string, partition int32, entries iter.Seq2[string, []byte]) error {
	t.Revoke(topic, partition)
	p := t.part(partKey{topic, partition})
	for key, value := range entries {
		if key == watermarkKey {
			if value == nil {
				p.watermark = time.Time{}
				continue
			}
			ms, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return fmt.Errorf("anomaly: watermark of %s/%d: %w", topic, partition, err)
			}
			p.watermark = time.UnixMilli(ms).UTC()
			continue
		}
		if value == nil {
			t.store.Delete(p.prefix + key)
			continue
		}
		if err := t.store.Restore(p.prefix+key, value); err != nil {
			if errors.Is(err, detect.ErrConfigMismatch) {
				t.dropped.Inc()
				continue
			}
			return fmt.Errorf("anomaly: series %q of %s/%d: %w", key, topic, partition, err)
		}
	}
	return nil
}

// Revoke forgets the state of an input partition.
func (t *Tagger) Revoke(topic string, partition int32) {
	pk := partKey{topic, partition}
	p, ok := t.parts[pk]
	if !ok {
		return
	}
	var keys []string
	t.store.Range(func(key string, _ *detect.Detector) bool {
		if strings.HasPrefix(key, p.prefix) {
			keys = append(keys, key)
		}
		return true
	})
	for _, k := range keys {
		t.store.Delete(k)
	}
	delete(t.parts, pk)
}
