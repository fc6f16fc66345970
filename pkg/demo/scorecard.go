package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// Tracker checks escalations and explanations against the injected
// incidents as they arrive. Its methods are safe for concurrent use.
//
// An escalation detects an incident when its event time lies in the
// incident's window (from its start to Grace after its end) and it
// concerns one of the incident's entities or, by a "surge: LABEL" reason,
// one of its classes. An escalation that detects no incident is a false
// alarm. An explanation explains an incident when it cites one of the
// escalations that detected the incident.
type Tracker struct {
	// Grace is how long after an incident's end escalations still count
	// for it: detectors may flag the recovery too.
	Grace time.Duration

	mu          sync.Mutex
	incidents   []*tracked
	escalated   int64
	falseAlarms int64
	llmCalls    int64
	llmTokens   int64
	explained   []record.Explanation
}

// tracked is an incident with what the tracker has seen of it.
type tracked struct {
	Incident
	injectedAt  time.Time // wall time
	detected    bool
	detectedAt  time.Time // wall time of the first escalation
	firstEvent  time.Time // event time of the first escalation
	explained   bool
	explainedAt time.Time
	explanation string
	// events are the ids of the events whose escalations detected it.
	events map[string]bool
}

// NewTracker returns a tracker with the given grace.
func NewTracker(grace time.Duration) *Tracker { return &Tracker{Grace: grace} }

// Injected records that in was injected at wall time at. It must be called
// before the escalations of the incident can arrive.
func (t *Tracker) Injected(in Incident, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.incidents = append(t.incidents, &tracked{Incident: in, injectedAt: at,
		events: map[string]bool{}})
}

// surgeLabel returns the label of a "surge: LABEL" reason among reasons.
func surgeLabel(reasons []string) string {
	for _, r := range reasons {
		if l, ok := strings.CutPrefix(r, "surge: "); ok {
			return l
		}
	}
	return ""
}

// Escalation records one escalation of the event with id eventID, of
// entity at event time et, seen at wall time at, and returns the id of the
// incident it detects, or "" for a false alarm.
func (t *Tracker) Escalation(
	eventID, entity string, reasons []string, et, at time.Time,
) string {
	label := surgeLabel(reasons)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.escalated++
	hit := ""
	for _, in := range t.incidents {
		if et.Before(in.Start) || et.After(in.End.Add(t.Grace)) || !in.Covers(entity, label) {
			continue
		}
		if !in.detected {
			in.detected, in.detectedAt, in.firstEvent = true, at, et
		}
		in.events[eventID] = true
		hit = in.ID
	}
	if hit == "" {
		t.falseAlarms++
	}
	return hit
}

// Explanation records one explanation seen at wall time at and returns
// the ids of the incidents it explains.
func (t *Tracker) Explanation(x *record.Explanation, at time.Time) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if x.Source == record.SourceModel {
		t.llmCalls++
		t.llmTokens += x.InputTokens + x.OutputTokens
	}
	var ids []string
	for _, in := range t.incidents {
		if !slices.ContainsFunc(x.Escalations, func(r record.EscalationRef) bool {
			return in.events[r.EventID]
		}) {
			continue
		}
		ids = append(ids, in.ID)
		if !in.explained {
			in.explained, in.explainedAt, in.explanation = true, at, x.Summary
		}
	}
	return ids
}

// Result is the scorecard. Its JSON form has exactly the keys the demo's
// -scorecard file promises.
type Result struct {
	Records            int64   `json:"records"`
	RecordsPerSec      float64 `json:"records_per_sec"`
	Escalated          int64   `json:"escalated"`
	EscalationRate     float64 `json:"escalation_rate"`
	IncidentsInjected  int     `json:"incidents_injected"`
	IncidentsDetected  int     `json:"incidents_detected"`
	IncidentsExplained int     `json:"incidents_explained"`
	FalseAlarms        int64   `json:"false_alarms"`
	LLMCalls           int64   `json:"llm_calls"`
	LLMTokens          int64   `json:"llm_tokens"`

	// Incidents are the incidents one by one, in start order.
	Incidents []IncidentResult `json:"-"`
}

// IncidentResult is what the scorecard says of one incident.
type IncidentResult struct {
	ID, Title string
	Detected  bool
	// EventDelay is the event time from the incident's start to its first
	// escalation; WallDelay the wall time from its injection until that
	// escalation was read.
	EventDelay, WallDelay time.Duration
	Explained             bool
	// ExplainDelay is the wall time from injection until the first
	// explanation covering it was read.
	ExplainDelay time.Duration
	Explanation  string
}

// Result returns the scorecard for records processed in elapsed.
func (t *Tracker) Result(records int64, elapsed time.Duration) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := Result{
		Records:           records,
		Escalated:         t.escalated,
		IncidentsInjected: len(t.incidents),
		FalseAlarms:       t.falseAlarms,
		LLMCalls:          t.llmCalls,
		LLMTokens:         t.llmTokens,
	}
	if elapsed > 0 {
		r.RecordsPerSec = float64(records) / elapsed.Seconds()
	}
	if records > 0 {
		r.EscalationRate = float64(t.escalated) / float64(records)
	}
	for _, in := range t.incidents {
		ir := IncidentResult{ID: in.ID, Title: in.Title, Detected: in.detected,
			Explained: in.explained, Explanation: in.explanation}
		if in.detected {
			r.IncidentsDetected++
			ir.EventDelay = in.firstEvent.Sub(in.Start)
			ir.WallDelay = in.detectedAt.Sub(in.injectedAt)
		}
		if in.explained {
			r.IncidentsExplained++
			ir.ExplainDelay = in.explainedAt.Sub(in.injectedAt)
		}
		r.Incidents = append(r.Incidents, ir)
	}
	return r
}

// Print writes the scorecard as text, one figure a line, then one line
// per incident.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintln(out, "scorecard")
	fmt.Fprintf(out, "  records              %d\n", r.Records)
	fmt.Fprintf(out, "  records/s            %.0f\n", r.RecordsPerSec)
	fmt.Fprintf(out, "  escalated            %d\n", r.Escalated)
	fmt.Fprintf(out, "  escalation rate      %.3f%%\n", 100*r.EscalationRate)
	fmt.Fprintf(out, "  incidents injected   %d\n", r.IncidentsInjected)
	fmt.Fprintf(out, "  incidents detected   %d\n", r.IncidentsDetected)
	fmt.Fprintf(out, "  incidents explained  %d\n", r.IncidentsExplained)
	fmt.Fprintf(out, "  false alarms         %d (escalations outside every incident)\n",
		r.FalseAlarms)
	fmt.Fprintf(out, "  model calls          %d\n", r.LLMCalls)
	fmt.Fprintf(out, "  model tokens         %d\n", r.LLMTokens)
	for _, in := range r.Incidents {
		det := "NOT detected"
		if in.Detected {
			det = fmt.Sprintf("detected after %s of event time (%s wall)",
				in.EventDelay, in.WallDelay.Round(10*time.Millisecond))
		}
		exp := "NOT explained"
		if in.Explained {
			exp = fmt.Sprintf("explained %s after injection",
				in.ExplainDelay.Round(10*time.Millisecond))
		}
		fmt.Fprintf(out, "  %-20s %s, %s\n", in.ID, det, exp)
	}
}
