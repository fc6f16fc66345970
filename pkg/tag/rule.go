package tag

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
)

// Rules is a tagger that flags a record when one of its metrics crosses a
// fixed threshold. It is the simplest detector: no state, no warm-up.
type Rules struct {
	rules []rule
}

type rule struct {
	metric string
	above  bool    // true: flag value > limit; false: flag value < limit
	limit  float64 // the threshold
}

// NewRules builds the rule tagger from validated config rules. It returns
// an error naming the rule that has no metric or not exactly one bound.
func NewRules(rs []config.Rule) (*Rules, error) {
	t := &Rules{rules: make([]rule, 0, len(rs))}
	for i, r := range rs {
		if r.Metric == "" {
			return nil, fmt.Errorf("rules[%d]: metric is empty", i)
		}
		if (r.Above == nil) == (r.Below == nil) {
			return nil, fmt.Errorf("rules[%d] (%s): set exactly one of above and below", i, r.Metric)
		}
		switch {
		case r.Above != nil:
			t.rules = append(t.rules, rule{metric: r.Metric, above: true, limit: *r.Above})
		default:
			t.rules = append(t.rules, rule{metric: r.Metric, above: false, limit: *r.Below})
		}
	}
	return t, nil
}

// Name returns "rules".
func (*Rules) Name() string { return "rules" }

// Tag checks every rule whose metric the event carries. A rule that fires
// sets the anomaly score to 1, flags the record with the reason
// "rule: METRIC > LIMIT" (or <) and explains the metric: the threshold is
// the expected value and the allowed side is the band, its open end
// written as the largest finite double so that every consumer can read it.
func (t *Rules) Tag(_ context.Context, e *record.Enriched) error {
	for _, r := range t.rules {
		v, ok := e.Event.Metrics.Get(r.metric)
		if !ok {
			continue
		}
		fired := v < r.limit
		if r.above {
			fired = v > r.limit
		}
		if !fired {
			continue
		}
		if e.Anomaly == nil {
			e.Anomaly = &record.Anomaly{}
		}
		ma := record.MetricAnomaly{
			Metric:       r.metric,
			Value:        v,
			Expected:     r.limit,
			Lower:        r.limit,
			Upper:        math.MaxFloat64,
			Direction:    record.DirectionUp,
			Contribution: 1,
		}
		op := "<"
		if r.above {
			op = ">"
			ma.Lower, ma.Upper = -math.MaxFloat64, r.limit
		} else {
			ma.Direction = record.DirectionDown
		}
		e.Anomaly.Score = 1
		e.Anomaly.Flagged = true
		e.Anomaly.Metrics = append(e.Anomaly.Metrics, ma)
		e.Flag("rule: " + r.metric + " " + op + " " + strconv.FormatFloat(r.limit, 'g', -1, 64))
	}
	return nil
}
