package explain

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// Heuristic explains inc from its evidence alone, with no model: which
// metrics moved, how far and when, which class surged, which entities
// moved together and what changed first. The same incident always gives
// the same explanation, marked SourceHeuristic, with no model, tokens or
// cost. Latency is left to the caller.
func Heuristic(inc *Incident) record.Explanation {
	plain := func(s string) string { return s }
	ms := slices.Clone(inc.Metrics)
	slices.SortStableFunc(ms, byDeviation)
	classes := slices.Clone(inc.Classes)
	slices.SortStableFunc(classes, func(a, b ClassStats) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return a.First.Compare(b.First)
	})
	first := firstMetric(inc.Metrics)

	x := baseExplanation(inc)
	x.Source = record.SourceHeuristic

	// Summary: the scope, then the largest move and the largest class.
	var sum strings.Builder
	fmt.Fprintf(&sum, "%d escalations of %s between %s and %s.", inc.Covered(),
		entityList(inc.Entities), clock(inc.Start), clock(inc.End))
	if len(ms) > 0 {
		m := &ms[0]
		fmt.Fprintf(&sum, " The largest move: %s %s went %s to %s against %s expected.",
			m.Entity, m.Metric, m.Direction, num(m.PeakValue), num(m.Expected))
	}
	if len(classes) > 0 {
		c := &classes[0]
		fmt.Fprintf(&sum, " %d of the records are of class %s.", c.Count, c.Label)
	}
	x.Summary = sum.String()

	x.ProbableCause = heuristicCause(inc, first, classes)

	// Evidence: the metrics farthest out, the classes, who moved together.
	for i := range ms[:min(len(ms), 5)] {
		x.Evidence = append(x.Evidence, metricLine(&ms[i], plain))
	}
	for i := range classes[:min(len(classes), 3)] {
		x.Evidence = append(x.Evidence, classLine(&classes[i], plain))
	}
	if len(inc.Entities) > 1 {
		x.Evidence = append(x.Evidence, fmt.Sprintf("%s moved within %s of each other",
			entityList(inc.Entities), inc.End.Sub(inc.Start)))
	}
	if len(x.Evidence) == 0 {
		for _, e := range inc.PerEntity[:min(len(inc.PerEntity), 5)] {
			x.Evidence = append(x.Evidence, fmt.Sprintf("%s: %d escalations, reasons %s",
				e.Entity, e.Count, strings.Join(e.Reasons, "; ")))
		}
	}

	x.SuggestedActions = heuristicActions(inc, first, classes)
	x.Confidence = heuristicConfidence(inc, ms, classes)
	return x
}

// baseExplanation fills what every explanation of inc carries.
func baseExplanation(inc *Incident) record.Explanation {
	return record.Explanation{
		IncidentID:  inc.ID,
		Entities:    slices.Clone(inc.Entities),
		Start:       inc.Start,
		End:         inc.End,
		Escalations: slices.Clone(inc.Refs),
	}
}

// firstMetric returns the metric that moved first (ties: the farthest
// out), or nil.
func firstMetric(ms []MetricStats) *MetricStats {
	var first *MetricStats
	for i := range ms {
		m := &ms[i]
		if first == nil || m.First.Before(first.First) ||
			m.First.Equal(first.First) && byDeviation(*m, *first) < 0 {
			first = m
		}
	}
	return first
}

func heuristicCause(inc *Incident, first *MetricStats, classes []ClassStats) string {
	switch {
	case first != nil && len(inc.Entities) > 1:
		others := othersFirst(inc, first.Entity)
		lead := "at the same time as"
		if d := others.Sub(first.First); d > 0 {
			lead = d.String() + " before"
		}
		return fmt.Sprintf("%s %s went %s first, at %s, %s the other entities moved: "+
			"the change most likely started in %s or in something the entities share.",
			first.Entity, first.Metric, first.Direction, clock(first.First), lead,
			first.Entity)
	case first != nil:
		return fmt.Sprintf("%s %s went %s from %s, %s normal band widths out at its peak; "+
			"the cause is most likely in %s itself or in what it depends on.",
			first.Entity, first.Metric, first.Direction, clock(first.First),
			num(first.Deviation), first.Entity)
	case len(classes) > 0:
		c := &classes[0]
		return fmt.Sprintf("A surge of records of class %s (%d records of %d entities) "+
			"from %s; no metric moved with it.", c.Label, c.Count, len(c.Entities),
			clock(c.First))
	}
	return fmt.Sprintf("%d escalations without a metric or class in common; the evidence "+
		"does not point at one cause.", inc.Covered())
}

// othersFirst returns the earliest first escalation of an entity other
// than entity.
func othersFirst(inc *Incident, entity string) time.Time {
	var t time.Time
	for _, e := range inc.PerEntity {
		if e.Entity != entity && (t.IsZero() || e.First.Before(t)) {
			t = e.First
		}
	}
	return t
}

func heuristicActions(inc *Incident, first *MetricStats, classes []ClassStats) []string {
	var as []string
	origin := inc.Entities[0]
	at := inc.Start
	if first != nil {
		origin, at = first.Entity, first.First
	}
	as = append(as, fmt.Sprintf("Look at what changed in %s shortly before %s: "+
		"deployments, configuration, load and its dependencies.", origin, clock(at)))
	if len(inc.Entities) > 1 {
		as = append(as, fmt.Sprintf("Check what %s have in common (a dependency, host, "+
			"region or release).", entityList(inc.Entities)))
	}
	if len(classes) > 0 {
		c := &classes[0]
		as = append(as, fmt.Sprintf("Read the records of class %s from %s to %s.",
			c.Label, clock(c.First), clock(c.Last)))
	}
	if first != nil {
		as = append(as, fmt.Sprintf("Watch %s %s return into its normal band [%s, %s].",
			first.Entity, first.Metric, num(first.Lower), num(first.Upper)))
	}
	return as
}

// heuristicConfidence is low by design: 0.2, more when a metric is well
// out of its band and when independent signals agree, at most 0.6.
func heuristicConfidence(inc *Incident, ms []MetricStats, classes []ClassStats) float64 {
	c := 0.2
	if len(ms) > 0 && ms[0].Deviation >= 1 {
		c += 0.2
	}
	if len(ms) > 0 && len(classes) > 0 {
		c += 0.1
	}
	if len(inc.Entities) > 1 && len(ms) > 0 {
		c += 0.1
	}
	return min(c, 0.6)
}

func entityList(es []string) string {
	const show = 5
	if len(es) <= show {
		return strings.Join(es, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(es[:show], ", "), len(es)-show)
}

// clock formats an event time for prose.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
