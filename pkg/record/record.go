// Package record holds the values that flow through triage: the input Event,
// the EnrichedEvent the worker writes, the Escalation handed to the explainer
// and the Explanation it writes back. It owns their Avro native form (the
// map shapes goavro reads and writes) and nothing about Kafka or formats on
// the wire; codecs live in package codec.
package record

import (
	"cmp"
	"slices"
	"time"
)

// Event is the generic input envelope. Entity is the key that all
// per-entity state follows; it is never empty on a decoded Event.
type Event struct {
	ID         string
	Time       time.Time // event time, millisecond precision
	Source     string
	Entity     string
	Text       *string // nil when the record carries no text
	Metrics    Metrics
	Attributes Attributes
}

// Metric is one named number of an Event.
type Metric struct {
	Name  string
	Value float64
}

// Metrics are the numbers of an Event, at most one per name. Decoders
// give them sorted by name, and nil when there are none; encoders write
// them in the order they are in. Events are small, so a slice searched
// from the start costs less than a map to build and to read.
type Metrics []Metric

// Get returns the value of the metric called name, and whether there is
// one.
func (m Metrics) Get(name string) (float64, bool) {
	for i := range m {
		if m[i].Name == name {
			return m[i].Value, true
		}
	}
	return 0, false
}

// MetricsOf returns the entries of m sorted by name, or nil when m is
// empty.
func MetricsOf(m map[string]float64) Metrics {
	if len(m) == 0 {
		return nil
	}
	out := make(Metrics, 0, len(m))
	for k, v := range m {
		out = append(out, Metric{k, v})
	}
	slices.SortFunc(out, func(a, b Metric) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Attribute is one key and its value in an Event.
type Attribute struct {
	Key   string
	Value string
}

// Attributes are the key-value strings of an Event, at most one per key,
// kept like Metrics: sorted by key when decoded, nil when there are none.
type Attributes []Attribute

// Get returns the value of key, and whether there is one.
func (a Attributes) Get(key string) (string, bool) {
	for i := range a {
		if a[i].Key == key {
			return a[i].Value, true
		}
	}
	return "", false
}

// AttributesOf returns the entries of m sorted by key, or nil when m is
// empty.
func AttributesOf(m map[string]string) Attributes {
	if len(m) == 0 {
		return nil
	}
	out := make(Attributes, 0, len(m))
	for k, v := range m {
		out = append(out, Attribute{k, v})
	}
	slices.SortFunc(out, func(a, b Attribute) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Classification is the verdict of a text classifier on the event's text.
type Classification struct {
	Label        string
	Confidence   float64
	ModelVersion string
}

// Direction says which way a metric moved against its expected value.
type Direction string

// Directions a metric can move in.
const (
	DirectionNone Direction = "none"
	DirectionUp   Direction = "up"
	DirectionDown Direction = "down"
)

// MetricAnomaly explains one metric of one event: what was seen, what was
// expected, the band of normal values and how much it added to the score.
type MetricAnomaly struct {
	Metric       string
	Value        float64
	Expected     float64
	Lower        float64
	Upper        float64
	Direction    Direction
	Contribution float64
}

// Anomaly is the combined result of the anomaly detectors for one event.
// Score is in [0,1].
type Anomaly struct {
	Score   float64
	Flagged bool
	Metrics []MetricAnomaly
}

// Provenance says where an enriched event came from and who processed it.
type Provenance struct {
	Topic       string
	Partition   int32
	Offset      int64
	WorkerID    string
	ProcessedAt time.Time
}

// Enriched is an Event with what the taggers found. Classification and
// Anomaly are nil when no tagger of that kind ran.
type Enriched struct {
	Event          Event
	Classification *Classification
	Anomaly        *Anomaly
	Escalate       bool
	Reasons        []string
	Provenance     Provenance
}

// Flag marks the event for escalation and records why. Reasons are kept in
// the order taggers give them, without duplicates.
func (e *Enriched) Flag(reason string) {
	e.Escalate = true
	for _, r := range e.Reasons {
		if r == reason {
			return
		}
	}
	e.Reasons = append(e.Reasons, reason)
}

// Baseline is what a detector expects of one metric of an entity.
type Baseline struct {
	Metric   string
	Expected float64
	Lower    float64
	Upper    float64
	Samples  int64
}

// Escalation is a flagged Enriched event with the context an explainer needs
// to reason about it without reading other topics.
type Escalation struct {
	Enriched  Enriched
	Recent    []Event // the entity's most recent events before this one, oldest first
	Baselines []Baseline
}

// ExplanationSource says who wrote an explanation.
type ExplanationSource string

// Sources of an explanation.
const (
	SourceModel     ExplanationSource = "model"
	SourceHeuristic ExplanationSource = "heuristic"
)

// EscalationRef points at one escalation an explanation covers.
type EscalationRef struct {
	Topic     string
	Partition int32
	Offset    int64
	EventID   string
}

// Explanation is the explainer's account of one incident.
type Explanation struct {
	IncidentID       string
	Entities         []string
	Start            time.Time
	End              time.Time
	Summary          string
	ProbableCause    string
	Evidence         []string
	SuggestedActions []string
	Confidence       float64
	Source           ExplanationSource
	Model            string
	InputTokens      int64
	OutputTokens     int64
	CostUSD          float64
	Latency          time.Duration
	Escalations      []EscalationRef
}
