package explain

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/record"
)

// Options are the explainer's collaborators. The zero value works.
type Options struct {
	// Metrics to count into; nil creates unregistered ones.
	Metrics *Metrics
	// Logger; nil logs nothing.
	Logger *zap.Logger
	// HTTPClient carries model requests; nil means a new http.Client.
	// Its Timeout, if any, bounds each attempt on top of Model.Timeout.
	HTTPClient *http.Client
	// Now is the clock of budgets, the breaker and latencies; nil means
	// time.Now.
	Now func() time.Time
}

// Explainer writes one explanation per incident: the model's when a model
// is configured, it answers within the budget and its answer (or its one
// repair) is valid, and the heuristic's otherwise. It is safe for
// concurrent use.
type Explainer struct {
	cfg    Config
	red    *Redactor
	client *modelClient // nil without a model
	budget *budget
	m      *Metrics
	log    *zap.Logger
	now    func() time.Time
}

// NewExplainer returns an explainer for cfg, which it validates. It reads
// the API key but does not contact the model server.
func NewExplainer(cfg Config, o Options) (*Explainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid explainer config: %w", err)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	red, err := NewRedactor(cfg.Redact)
	if err != nil {
		return nil, err
	}
	e := &Explainer{
		cfg:    cfg,
		red:    red,
		budget: newBudget(cfg.Budget),
		m:      o.Metrics,
		log:    o.Logger,
		now:    o.Now,
	}
	if cfg.Model.BaseURL != "" {
		e.client, err = newModelClient(cfg.Model, o.HTTPClient, o.Metrics, o.Logger)
		if err != nil {
			return nil, err
		}
		e.client.now = o.Now
	}
	e.gauges()
	return e, nil
}

// HasModel reports whether a model is configured. Without one, Explain
// returns at once and never blocks.
func (e *Explainer) HasModel() bool { return e.client != nil }

// Redactor returns the redactor the explainer applies to requests.
func (e *Explainer) Redactor() *Redactor { return e.red }

// Explain returns the explanation of inc, a copy from Store.Due. It never
// fails: when there is no model, the budget is spent, the breaker is open,
// the calls fail or the answer stays invalid after one repair, it returns
// Heuristic(inc) and counts why. It blocks for the model calls, at most
// about MaxAttempts times Timeout plus backoffs, twice for a repair, or
// until ctx ends. Latency is set to the time Explain took.
func (e *Explainer) Explain(ctx context.Context, inc *Incident) record.Explanation {
	start := e.now()
	x, reason := e.fromModel(ctx, inc)
	if reason != "" {
		x = Heuristic(inc)
		e.m.Fallbacks.WithLabelValues(reason).Inc()
		if reason != KindNoModel {
			e.log.Debug("incident explained by the heuristic", zap.String("incident", inc.ID),
				zap.String("reason", reason))
		}
	}
	x.Latency = e.now().Sub(start)
	round := "first"
	if inc.Update() {
		round = "update"
	}
	e.m.Explanations.WithLabelValues(string(x.Source), round).Inc()
	return x
}

// fromModel asks the model; on failure it returns the reason, a failure
// kind, and no explanation.
func (e *Explainer) fromModel(ctx context.Context, inc *Incident) (record.Explanation, string) {
	if e.client == nil {
		return record.Explanation{}, KindNoModel
	}
	ph := inc.Placeholders.clone()
	redact := func(s string) string {
		r, n := e.red.Redact(s, &ph)
		e.m.Redactions.Add(float64(n))
		return r
	}
	p := buildPrompt(inc, e.cfg.Prompt, redact)
	e.m.PromptOmitted.Add(float64(p.Omitted))
	msgs := []chatMessage{{"system", p.System}, {"user", p.User}}

	var in, out int64
	var cost float64
	for try := 0; try < 2; try++ {
		comp, c, err := e.call(ctx, msgs, redact)
		if err != nil {
			return record.Explanation{}, kindOf(err)
		}
		in, out, cost = in+comp.InputTokens, out+comp.OutputTokens, cost+c
		a, err := ParseAnswer(comp.Content)
		if err == nil {
			x := baseExplanation(inc)
			x.Source = record.SourceModel
			x.Model = e.cfg.Model.Model
			x.Summary = a.Summary
			x.ProbableCause = a.ProbableCause + " (category: " + a.Category + ")"
			x.Evidence = a.Evidence
			x.SuggestedActions = a.SuggestedActions
			x.Confidence = a.Confidence
			x.InputTokens, x.OutputTokens, x.CostUSD = in, out, cost
			return x, ""
		}
		e.m.Failures.WithLabelValues(KindInvalidAnswer).Inc()
		e.log.Debug("model answer invalid", zap.String("incident", inc.ID),
			zap.Int("try", try+1), zap.Error(err))
		msgs = append(msgs,
			chatMessage{"assistant", comp.Content},
			chatMessage{"user", "Your answer was not valid: " + err.Error() +
				"\nReply again with only the corrected JSON object."})
	}
	return record.Explanation{}, KindInvalidAnswer
}

// call makes one model call within the budget, after redacting every
// message once more as the last step before anything leaves the process.
// It returns the completion and its cost.
func (e *Explainer) call(
	ctx context.Context, msgs []chatMessage, redact func(string) string,
) (completion, float64, error) {
	in := 0
	for i := range msgs {
		msgs[i].Content = redact(msgs[i].Content)
		in += Tokens(msgs[i].Content)
	}
	r, err := e.budget.reserve(e.now(), int64(in), int64(e.cfg.Model.MaxOutputTokens))
	if err != nil {
		e.m.Failures.WithLabelValues(KindBudget).Inc()
		e.m.ModelCalls.WithLabelValues(KindBudget).Inc()
		return completion{}, 0, err
	}

	start := e.now()
	comp, err := e.client.complete(ctx, msgs)
	e.m.Latency.Observe(e.now().Sub(start).Seconds())
	if err != nil {
		e.budget.settle(r, 0, 0)
		e.m.ModelCalls.WithLabelValues(kindOf(err)).Inc()
		e.gauges()
		return completion{}, 0, err
	}
	cost := e.budget.settle(r, comp.InputTokens, comp.OutputTokens)
	e.m.ModelCalls.WithLabelValues("ok").Inc()
	e.m.Tokens.WithLabelValues("input").Add(float64(comp.InputTokens))
	e.m.Tokens.WithLabelValues("output").Add(float64(comp.OutputTokens))
	e.m.Cost.Add(cost)
	e.gauges()
	return comp, cost, nil
}

// gauges refreshes the budget and breaker gauges.
func (e *Explainer) gauges() {
	now := e.now()
	minute, day := e.budget.left(now)
	e.m.BudgetLeft.WithLabelValues("minute").Set(float64(minute))
	e.m.BudgetLeft.WithLabelValues("day").Set(float64(day))
	if e.client != nil {
		e.m.Breaker.Set(float64(e.client.breaker.state(now)))
	}
}
