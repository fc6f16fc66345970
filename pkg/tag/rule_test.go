package tag

import (
	"context"
	"math"
	"testing"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
)

func f(v float64) *float64 { return &v }

func TestRulesFlagOnlyWhatCrosses(t *testing.T) {
	rules, err := NewRules([]config.Rule{
		{Metric: "latency_ms", Above: f(400)},
		{Metric: "free_disk_gb", Below: f(1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		metrics map[string]float64
		reasons []string
	}{
		{"nothing crosses", map[string]float64{"latency_ms": 400, "free_disk_gb": 1}, nil},
		{"no such metrics", map[string]float64{"other": 1e9}, nil},
		{"above", map[string]float64{"latency_ms": 401}, []string{"rule: latency_ms > 400"}},
		{"below", map[string]float64{"free_disk_gb": 0.5}, []string{"rule: free_disk_gb < 1"}},
		{"both", map[string]float64{"latency_ms": 900, "free_disk_gb": 0},
			[]string{"rule: latency_ms > 400", "rule: free_disk_gb < 1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := record.Event{Entity: "e", Metrics: record.MetricsOf(tt.metrics)}
			e := &record.Enriched{Event: ev}
			if err := rules.Tag(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if len(e.Reasons) != len(tt.reasons) {
				t.Fatalf("got reasons %q, want %q", e.Reasons, tt.reasons)
			}
			for i := range tt.reasons {
				if e.Reasons[i] != tt.reasons[i] {
					t.Errorf("reason %d: got %q, want %q", i, e.Reasons[i], tt.reasons[i])
				}
			}
			if e.Escalate != (len(tt.reasons) > 0) {
				t.Errorf("escalate=%v with reasons %q", e.Escalate, e.Reasons)
			}
			if len(tt.reasons) == 0 {
				if e.Anomaly != nil {
					t.Errorf("got anomaly %+v, want none", e.Anomaly)
				}
				return
			}
			if e.Anomaly == nil || e.Anomaly.Score != 1 || !e.Anomaly.Flagged ||
				len(e.Anomaly.Metrics) != len(tt.reasons) {
				t.Fatalf("got anomaly %+v, want score 1, flagged, one metric per rule", e.Anomaly)
			}
		})
	}
}

func TestRulesExplainTheMetric(t *testing.T) {
	rules, _ := NewRules([]config.Rule{
		{Metric: "latency_ms", Above: f(400)},
		{Metric: "free_disk_gb", Below: f(1)},
	})
	e := &record.Enriched{Event: record.Event{
		Metrics: record.MetricsOf(map[string]float64{"latency_ms": 900, "free_disk_gb": 0.25}),
	}}
	_ = rules.Tag(context.Background(), e)
	up, down := e.Anomaly.Metrics[0], e.Anomaly.Metrics[1]
	if up.Direction != record.DirectionUp || up.Value != 900 || up.Expected != 400 ||
		up.Lower != -math.MaxFloat64 || up.Upper != 400 {
		t.Errorf("latency explained as %+v, want up, 900 against at most 400", up)
	}
	if down.Direction != record.DirectionDown || down.Value != 0.25 || down.Expected != 1 ||
		down.Lower != 1 || down.Upper != math.MaxFloat64 {
		t.Errorf("disk explained as %+v, want down, 0.25 against at least 1", down)
	}
}

func TestNewRulesRefusesBadRules(t *testing.T) {
	for _, rs := range [][]config.Rule{
		{{Metric: "", Above: f(1)}},
		{{Metric: "x"}},
		{{Metric: "x", Above: f(1), Below: f(0)}},
	} {
		if _, err := NewRules(rs); err == nil {
			t.Errorf("NewRules(%+v) = nil error, want one", rs[0])
		}
	}
}

func TestFlagKeepsReasonsUnique(t *testing.T) {
	var e record.Enriched
	e.Flag("a")
	e.Flag("b")
	e.Flag("a")
	if len(e.Reasons) != 2 || !e.Escalate {
		t.Errorf("got reasons %q escalate %v, want [a b] and true", e.Reasons, e.Escalate)
	}
}
