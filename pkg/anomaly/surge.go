package anomaly

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/streamtriage/triage/pkg/record"
)

// SurgeConfig configures a Surge tagger.
type SurgeConfig struct {
	// Bucket is the width of the event-time buckets records of a class are
	// counted in. Default: 1m.
	Bucket time.Duration
	// Warmup is how many buckets a class's rate learns before a surge of
	// it may be flagged. Default: 10.
	Warmup int
	// Sigmas is how many standard deviations of a Poisson count above its
	// expected value a bucket's count must be to be a surge. Default: 4.
	Sigmas float64
	// MinExcess is how many records above the expected count a surge needs
	// at least, so that a rare class is not flagged for a handful of
	// records. Default: 5.
	MinExcess float64
	// Alpha is the weight of a closed bucket in the expected count.
	// Default: 0.1.
	Alpha float64
	// MaxSurgeBuckets is how many surge buckets in a row are flagged before
	// the surge is taken as the new normal rate. Default: 30.
	MaxSurgeBuckets int
}

func (c *SurgeConfig) defaults() {
	if c.Bucket <= 0 {
		c.Bucket = time.Minute
	}
	if c.Warmup <= 0 {
		c.Warmup = 10
	}
	if c.Sigmas <= 0 {
		c.Sigmas = 4
	}
	if c.MinExcess <= 0 {
		c.MinExcess = 5
	}
	if c.Alpha <= 0 || c.Alpha > 1 {
		c.Alpha = 0.1
	}
	if c.MaxSurgeBuckets <= 0 {
		c.MaxSurgeBuckets = 30
	}
}

// maxGapBuckets bounds the empty buckets learned as zeros when a class
// comes back after a silence; a longer silence counts as this many.
const maxGapBuckets = 1000

// rate is what a Surge tagger knows of one class in one input partition.
type rate struct {
	expected float64 // expected records per bucket
	buckets  int64   // closed buckets learned
	start    int64   // current bucket, in buckets since the epoch
	count    float64 // records of the current bucket so far
	surging  int32   // surge buckets in a row, the current one included if it is one
}

// rateSize is the length of a rate's snapshot.
const rateSize = 8 + 8 + 8 + 8 + 4

func (r *rate) appendBinary(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.expected))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.buckets))
	b = binary.LittleEndian.AppendUint64(b, uint64(r.start))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.count))
	return binary.LittleEndian.AppendUint32(b, uint32(r.surging))
}

var errBadRate = errors.New("class rate snapshot is not 36 bytes")

func (r *rate) unmarshalBinary(b []byte) error {
	if len(b) != rateSize {
		return errBadRate
	}
	r.expected = math.Float64frombits(binary.LittleEndian.Uint64(b))
	r.buckets = int64(binary.LittleEndian.Uint64(b[8:]))
	r.start = int64(binary.LittleEndian.Uint64(b[16:]))
	r.count = math.Float64frombits(binary.LittleEndian.Uint64(b[24:]))
	r.surging = int32(binary.LittleEndian.Uint32(b[32:]))
	return nil
}

// limit is the count above which the current bucket is a surge.
func (c *SurgeConfig) limit(expected float64) float64 {
	return expected + c.Sigmas*math.Sqrt(math.Max(expected, 1)) + c.MinExcess
}

// Surge flags the records of a class whose rate surges: the count of each
// classifier label per event-time bucket, in each input partition, is a
// series whose expected value is learned from the closed buckets. Once the
// current bucket's count passes the expected count by Sigmas Poisson
// deviations and MinExcess records, the rest of that bucket's records of
// the class are flagged with the reason "surge: LABEL", the same in every
// partition and every worker, so that an explainer can report one surge
// once however many workers saw a share of it.
//
// It must run after the classifier. It is not safe for concurrent use.
type Surge struct {
	cfg   SurgeConfig
	parts map[partKey]*surgePart

	flagged prometheus.Counter
}

type surgePart struct {
	rates map[string]*rate // by label
	dirty map[string]struct{}
}

// NewSurge returns a surge tagger for cfg, registering its metric with reg,
// which may be nil.
func NewSurge(cfg SurgeConfig, reg prometheus.Registerer) (*Surge, error) {
	cfg.defaults()
	s := &Surge{
		cfg:   cfg,
		parts: map[partKey]*surgePart{},
		flagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_surge_records_flagged_total",
			Help: "Records flagged because the rate of their class surged.",
		}),
	}
	if reg != nil {
		if err := reg.Register(s.flagged); err != nil {
			return nil, fmt.Errorf("surge: %w", err)
		}
	}
	return s, nil
}

// Name returns "surge".
func (*Surge) Name() string { return "surge" }

func (s *Surge) part(pk partKey) *surgePart {
	p, ok := s.parts[pk]
	if !ok {
		p = &surgePart{rates: map[string]*rate{}, dirty: map[string]struct{}{}}
		s.parts[pk] = p
	}
	return p
}

// Tag counts the record in its class's current bucket and flags it when
// the bucket is a surge. A record of an earlier bucket than the current
// one is late: it is not counted and not flagged. A record without a class
// is left alone.
func (s *Surge) Tag(_ context.Context, e *record.Enriched) error {
	if e.Classification == nil || e.Classification.Label == "" {
		return nil
	}
	label := e.Classification.Label
	p := s.part(partKey{e.Provenance.Topic, e.Provenance.Partition})
	r, ok := p.rates[label]
	bucket := e.Event.Time.UnixMilli() / s.cfg.Bucket.Milliseconds()
	if !ok {
		r = &rate{start: bucket}
		p.rates[label] = r
	}
	switch {
	case bucket < r.start:
		return nil
	case bucket > r.start:
		s.close(r, bucket)
	}
	r.count++
	p.dirty[label] = struct{}{}

	limit := s.cfg.limit(r.expected)
	if r.buckets < int64(s.cfg.Warmup) || r.count <= limit {
		return nil
	}
	if r.count == math.Floor(limit)+1 {
		r.surging++ // the bucket has just become a surge
	}
	if r.surging > int32(s.cfg.MaxSurgeBuckets) {
		return nil
	}
	if e.Anomaly == nil {
		e.Anomaly = &record.Anomaly{}
	}
	e.Anomaly.Score, e.Anomaly.Flagged = 1, true
	e.Anomaly.Metrics = append(e.Anomaly.Metrics, record.MetricAnomaly{
		Metric:       "class_rate:" + label,
		Value:        r.count,
		Expected:     r.expected,
		Lower:        0,
		Upper:        limit,
		Direction:    record.DirectionUp,
		Contribution: 1,
	})
	e.Flag("surge: " + label)
	s.flagged.Inc()
	return nil
}

// close ends r's current bucket, learns it and the empty buckets up to
// bucket, and makes bucket the current one. A surge bucket is not learned,
// unless the surge has lasted MaxSurgeBuckets, so that the expected rate
// is not dragged up by the surge it is flagging.
func (s *Surge) close(r *rate, bucket int64) {
	surge := r.count > s.cfg.limit(r.expected) && r.buckets >= int64(s.cfg.Warmup)
	if !surge || r.surging > int32(s.cfg.MaxSurgeBuckets) {
		s.learn(r, r.count)
	}
	if !surge {
		r.surging = 0
	}
	for i := min(bucket-r.start-1, maxGapBuckets); i > 0; i-- {
		s.learn(r, 0)
		r.surging = 0
	}
	r.start, r.count = bucket, 0
}

func (s *Surge) learn(r *rate, count float64) {
	if r.buckets == 0 {
		r.expected = count
	} else {
		r.expected += s.cfg.Alpha * (count - r.expected)
	}
	r.buckets++
}

// Checkpoint emits the rates changed since the last call, keyed by label.
func (s *Surge) Checkpoint(emit func(topic string, partition int32, key string, value []byte)) {
	for pk, p := range s.parts {
		for label := range p.dirty {
			emit(pk.topic, pk.partition, label, p.rates[label].appendBinary(nil))
		}
		clear(p.dirty)
	}
}

// Restore replaces the rates of an input partition with entries.
func (s *Surge) Restore(topic string, partition int32, entries iter.Seq2[string, []byte]) error {
	s.Revoke(topic, partition)
	p := s.part(partKey{topic, partition})
	for label, value := range entries {
		if value == nil {
			delete(p.rates, label)
			continue
		}
		r := &rate{}
		if err := r.unmarshalBinary(value); err != nil {
			return fmt.Errorf("surge: class %q of %s/%d: %w", label, topic, partition, err)
		}
		p.rates[label] = r
	}
	return nil
}

// Revoke forgets the rates of an input partition.
func (s *Surge) Revoke(topic string, partition int32) {
	delete(s.parts, partKey{topic, partition})
}
