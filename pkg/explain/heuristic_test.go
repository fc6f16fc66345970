package explain

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

func TestHeuristic(t *testing.T) {
	cfg := testConfig("")
	incs := dueIncidents(t, cfg,
		[]*record.Escalation{
			escalation(escOpts{entity: "payments", at: t0.Add(20 * time.Second),
				metric: "latency_ms", value: 400}),
			escalation(escOpts{entity: "checkout", at: t0, metric: "latency_ms", value: 900}),
			escalation(escOpts{entity: "checkout", at: t0.Add(5 * time.Second),
				metric: "latency_ms", value: 700, label: "timeout"}),
		},
		[]*record.Escalation{
			escalation(escOpts{entity: "search", at: t0, label: "spam"}),
			escalation(escOpts{entity: "search", at: t0.Add(time.Second), label: "spam"}),
		},
	)
	byEntity := map[string]*Incident{}
	for _, inc := range incs {
		byEntity[inc.Entities[0]] = inc
	}

	t.Run("it names what changed first and who followed", func(t *testing.T) {
		x := Heuristic(byEntity["payments"])
		if x.Source != record.SourceHeuristic || x.Model != "" || x.InputTokens != 0 {
			t.Errorf("got source %q, model %q, %d tokens; want a heuristic with none", x.Source,
				x.Model, x.InputTokens)
		}
		if !strings.HasPrefix(x.ProbableCause, "checkout latency_ms went up first") ||
			!strings.Contains(x.ProbableCause, "20s before") {
			t.Errorf("got cause %q, want checkout first, 20s before", x.ProbableCause)
		}
		if !strings.Contains(x.Summary, "900") {
			t.Errorf("got summary %q, want the peak 900", x.Summary)
		}
		joined := strings.Join(x.Evidence, "\n")
		if !strings.Contains(joined, "class timeout") ||
			!strings.Contains(joined, "payments, checkout moved within 20s") {
			t.Errorf("got evidence %q, want the class and the entities moving together", joined)
		}
		if len(x.Escalations) != 3 || x.Start != t0 || x.End != t0.Add(20*time.Second) {
			t.Errorf("got %d refs from %v to %v", len(x.Escalations), x.Start, x.End)
		}
		if x.Confidence <= 0 || x.Confidence > 0.6 {
			t.Errorf("got confidence %g, want in (0, 0.6]", x.Confidence)
		}
	})

	t.Run("a class surge alone is named", func(t *testing.T) {
		x := Heuristic(byEntity["search"])
		if !strings.Contains(x.ProbableCause, "class spam (2 records of 1 entities)") {
			t.Errorf("got cause %q", x.ProbableCause)
		}
	})

	t.Run("it is deterministic", func(t *testing.T) {
		for _, inc := range incs {
			if a, b := Heuristic(inc), Heuristic(inc); !reflect.DeepEqual(a, b) {
				t.Errorf("got two explanations of %s:\n%+v\n%+v", inc.ID, a, b)
			}
		}
	})
}
