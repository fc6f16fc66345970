// Package record holds the values that flow through triage: the input Event,
// the EnrichedEvent the worker writes, the Escalation handed to the explainer
// and the Explanation it writes back. It owns their Avro native form (the
// map shapes goavro reads and writes) and nothing about Kafka or formats on
// the wire; codecs live in package codec.
package record

import "time"

// Event is the generic input envelope. Entity is the key that all
// per-entity state follows; it is never empty on a decoded Event.
type Event struct {
	ID         string
	Time       time.Time // event time, millisecond precision
	Source     string
	Entity     string
	Text       *string // nil when the record carries no text
	Metrics    map[string]float64
	Attributes map[string]string
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
