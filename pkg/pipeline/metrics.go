package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the loop's Prometheus metrics. One Metrics serves one loop;
// processors may count into it too (Escalated is theirs to count).
type Metrics struct {
	// RecordsIn counts consumed records by source topic.
	RecordsIn *prometheus.CounterVec
	// RecordsOut counts records produced in committed batches, by
	// destination topic.
	RecordsOut *prometheus.CounterVec
	// Escalated counts records flagged for escalation, by source topic.
	Escalated *prometheus.CounterVec
	// DeadLettered counts dead-lettered records by source topic and reason.
	DeadLettered *prometheus.CounterVec
	// Retries counts transient processing failures that were retried.
	Retries prometheus.Counter
	// Stage is the latency of each step of a batch: poll, process (which
	// hands the outputs to the producer as it goes) and commit (flushing
	// the outputs, committing offsets and ending the transaction).
	Stage *prometheus.HistogramVec
	// Batches counts ended batches by result: commit or abort.
	Batches *prometheus.CounterVec
	// Lag is the consumer lag per partition, as of the last fetch: the
	// high watermark (last stable offset when reading committed) less the
	// next offset to consume.
	Lag *prometheus.GaugeVec
	// Sessions counts Kafka sessions (clients) the loop started; more than
	// one means a fatal client error was recovered from.
	Sessions prometheus.Counter
	// StateRestores counts partitions whose state a Stateful processor
	// got back from the state topic.
	StateRestores prometheus.Counter
	// Ticks counts the Tick calls of a Ticker processor.
	Ticks prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg, which may be
// nil to leave them unregistered (as tests and benchmarks do).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_records_in_total",
			Help: "Records consumed, by source topic.",
		}, []string{"topic"}),
		RecordsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_records_out_total",
			Help: "Records produced in committed batches, by destination topic.",
		}, []string{"topic"}),
		Escalated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_records_escalated_total",
			Help: "Records flagged for escalation, by source topic.",
		}, []string{"topic"}),
		DeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_records_dead_lettered_total",
			Help: "Records written to the dead-letter topic, by source topic and reason.",
		}, []string{"topic", "reason"}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_processing_retries_total",
			Help: "Transient processing failures that were retried with backoff.",
		}),
		Stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "triage_stage_duration_seconds",
			Help:    "Latency of each step of a batch: poll, process, commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"stage"}),
		Batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_batches_total",
			Help: "Batches (transactions in exactly-once mode) ended, by result.",
		}, []string{"result"}),
		Lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "triage_consumer_lag_records",
			Help: "Records between the consumed position and the end of each partition.",
		}, []string{"topic", "partition"}),
		Sessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_kafka_sessions_total",
			Help: "Kafka client sessions started by the loop.",
		}),
		StateRestores: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_state_restores_total",
			Help: "Input partitions whose processor state was restored from the state topic.",
		}),
		Ticks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_ticks_total",
			Help: "Timed calls of a processor that produces records as time passes.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.RecordsIn, m.RecordsOut, m.Escalated, m.DeadLettered, m.Retries,
			m.Stage, m.Batches, m.Lag, m.Sessions, m.StateRestores, m.Ticks)
	}
	return m
}
