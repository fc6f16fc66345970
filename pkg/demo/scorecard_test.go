package demo

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

func TestTracker(t *testing.T) {
	w := New(Config{Seed: 2, Start: testStart})
	var incs []Incident
	for len(incs) < 3 {
		_, started := w.Step(nil)
		incs = append(incs, started...)
	}
	tr := NewTracker(time.Minute)
	now := time.Now()
	for _, in := range incs {
		tr.Injected(in, now)
	}
	gw, db := incs[0], incs[1]

	if got := tr.Escalation("e1", "payment-gateway", []string{"rule: error_rate > 0.1"},
		gw.Start.Add(time.Minute), now); got != gw.ID {
		t.Errorf("escalation of payment-gateway in its outage detected %q, want %s", got, gw.ID)
	}
	if got := tr.Escalation("e2", "chat", []string{"surge: card_declined"},
		gw.End.Add(30*time.Second), now); got != gw.ID {
		t.Errorf("card declined surge within the grace detected %q, want %s", got, gw.ID)
	}
	if got := tr.Escalation("e3", "payment-gateway", nil, gw.End.Add(2*time.Minute),
		now); got != "" {
		t.Errorf("escalation after the grace detected %s, want a false alarm", got)
	}
	if got := tr.Escalation("e4", "search", nil, db.Start, now); got != "" {
		t.Errorf("escalation of an entity the slow database spares detected %s, want a "+
			"false alarm", got)
	}

	falseAlarms := []record.EscalationRef{{EventID: "e3"}, {EventID: "e4"}}
	if ids := tr.Explanation(&record.Explanation{Source: record.SourceHeuristic,
		Escalations: falseAlarms}, now); len(ids) != 0 {
		t.Errorf("explanation of false alarms covers %v, want none", ids)
	}
	ids := tr.Explanation(&record.Explanation{Source: record.SourceModel, InputTokens: 300,
		OutputTokens: 120, Escalations: []record.EscalationRef{{EventID: "e2"}}}, now)
	if !slices.Equal(ids, []string{gw.ID}) {
		t.Errorf("explanation citing the surge covers %v, want [%s]", ids, gw.ID)
	}

	r := tr.Result(10000, 2*time.Second)
	want := Result{Records: 10000, RecordsPerSec: 5000, Escalated: 4, EscalationRate: 0.0004,
		IncidentsInjected: 3, IncidentsDetected: 1, IncidentsExplained: 1, FalseAlarms: 2,
		LLMCalls: 1, LLMTokens: 420}
	r.Incidents = nil
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

func TestResultJSONKeys(t *testing.T) {
	b, err := json.Marshal(NewTracker(0).Result(1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"escalated", "escalation_rate", "false_alarms", "incidents_detected",
		"incidents_explained", "incidents_injected", "llm_calls", "llm_tokens", "records",
		"records_per_sec"}
	if !slices.Equal(keys, want) {
		t.Errorf("got keys %v, want %v", keys, want)
	}
}
