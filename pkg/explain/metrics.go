package explain

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the explainer's Prometheus metrics. One Metrics serves one
// Explainer and the Service around it.
type Metrics struct {
	// Incidents counts incidents opened.
	Incidents prometheus.Counter
	// OpenIncidents is the number of incidents held, open or closed but
	// not yet explained.
	OpenIncidents prometheus.Gauge
	// Explanations counts explanations written, by source (model or
	// heuristic) and round (first or update).
	Explanations *prometheus.CounterVec
	// ModelCalls counts calls to the model, each with its retries, by
	// outcome: "ok" or a failure kind.
	ModelCalls *prometheus.CounterVec
	// Attempts counts HTTP requests sent to the model server, retries and
	// output-mode fallbacks included.
	Attempts prometheus.Counter
	// Failures counts failed attempts and refused calls by kind.
	Failures *prometheus.CounterVec
	// Fallbacks counts heuristic explanations by why the model did not
	// write them.
	Fallbacks *prometheus.CounterVec
	// Tokens counts tokens by direction: input or output.
	Tokens *prometheus.CounterVec
	// Cost counts US dollars spent on the model.
	Cost prometheus.Counter
	// Latency is the time of one model call, retries included.
	Latency prometheus.Histogram
	// IncidentLatency is the processing time from an incident's first
	// escalation to its first explanation.
	IncidentLatency prometheus.Histogram
	// BudgetLeft is the tokens left in the window: minute or day; -1 for
	// no limit.
	BudgetLeft *prometheus.GaugeVec
	// Breaker is the circuit breaker's state: 0 closed, 1 half open, 2
	// open.
	Breaker prometheus.Gauge
	// Redactions counts values replaced by placeholders in requests.
	Redactions prometheus.Counter
	// PromptOmitted counts items summarised instead of shown in prompts.
	PromptOmitted prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg, which may be
// nil to leave them unregistered (as tests do).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Incidents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_explain_incidents_total",
			Help: "Incidents opened.",
		}),
		OpenIncidents: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "triage_explain_incidents_open",
			Help: "Incidents held: open, or closed and not yet explained.",
		}),
		Explanations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_explain_explanations_total",
			Help: "Explanations written, by source (model, heuristic) and round (first, update).",
		}, []string{"source", "round"}),
		ModelCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_explain_model_calls_total",
			Help: "Calls to the model, retries included, by outcome: ok or a failure kind.",
		}, []string{"outcome"}),
		Attempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_explain_model_requests_total",
			Help: "HTTP requests sent to the model server, retries included.",
		}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_explain_model_failures_total",
			Help: "Failed model requests and refused calls, by kind.",
		}, []string{"kind"}),
		Fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_explain_fallbacks_total",
			Help: "Heuristic explanations, by why the model did not write them.",
		}, []string{"reason"}),
		Tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "triage_explain_tokens_total",
			Help: "Model tokens, by direction: input or output.",
		}, []string{"direction"}),
		Cost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_explain_cost_usd_total",
			Help: "US dollars spent on the model, at the configured prices.",
		}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "triage_explain_model_call_duration_seconds",
			Help:    "Time of one model call, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
		IncidentLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "triage_explain_incident_latency_seconds",
			Help:    "Processing time from an incident's first escalation to its first explanation.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 12),
		}),
		BudgetLeft: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "triage_explain_budget_tokens_left",
			Help: "Model tokens left in the window (minute, day); -1 for no limit.",
		}, []string{"window"}),
		Breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "triage_explain_breaker_state",
			Help: "Circuit breaker over the model: 0 closed, 1 half open, 2 open.",
		}),
		Redactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_explain_redactions_total",
			Help: "Values replaced by placeholders in model requests.",
		}),
		PromptOmitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "triage_explain_prompt_items_omitted_total",
			Help: "Prompt items summarised instead of shown, to fit the token budget.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Incidents, m.OpenIncidents, m.Explanations, m.ModelCalls,
			m.Attempts, m.Failures, m.Fallbacks, m.Tokens, m.Cost, m.Latency,
			m.IncidentLatency, m.BudgetLeft, m.Breaker, m.Redactions, m.PromptOmitted)
	}
	return m
}
