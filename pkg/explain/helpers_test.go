package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// t0 is the event time the generated escalations start at.
var t0 = time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)

// escOpts describe one generated escalation.
type escOpts struct {
	entity string
	at     time.Time
	metric string           // anomalous metric, "" for none
	dir    record.Direction // its direction, default up
	value  float64          // its value, default 700 against a band [90, 150]
	label  string           // class, "" for none
	text   string           // record text, "" for none
}

// escalation returns an escalation as the worker would write it.
func escalation(o escOpts) *record.Escalation {
	if o.dir == "" {
		o.dir = record.DirectionUp
	}
	if o.value == 0 {
		o.value = 700
	}
	ev := record.Event{
		ID: fmt.Sprintf("ev-%s-%d", o.entity, o.at.UnixMilli()), Time: o.at, Source: "test",
		Entity: o.entity,
		Metrics: record.Metrics{
			{Name: "error_rate", Value: 0.01}, {Name: "latency_ms", Value: 120},
		},
		Attributes: record.Attributes{{Key: "region", Value: "eu-west"}},
	}
	if o.text != "" {
		ev.Text = &o.text
	}
	en := record.Enriched{Event: ev, Escalate: true, Reasons: []string{"test"}}
	if o.metric != "" {
		for i := range en.Event.Metrics {
			if en.Event.Metrics[i].Name == o.metric {
				en.Event.Metrics[i].Value = o.value
			}
		}
		en.Anomaly = &record.Anomaly{Score: 0.9, Flagged: true, Metrics: []record.MetricAnomaly{{
			Metric: o.metric, Value: o.value, Expected: 120, Lower: 90, Upper: 150,
			Direction: o.dir, Contribution: 1,
		}}}
	}
	if o.label != "" {
		en.Classification = &record.Classification{Label: o.label, Confidence: 0.9,
			ModelVersion: "v1"}
	}
	recent := []record.Event{ev}
	recent[0].ID = ev.ID + "-prev"
	recent[0].Time = o.at.Add(-time.Second)
	recent[0].Text = nil
	return &record.Escalation{
		Enriched: en,
		Recent:   recent,
		Baselines: []record.Baseline{
			{Metric: "latency_ms", Expected: 120, Lower: 90, Upper: 150, Samples: 500},
		},
	}
}

// feeder hands out escalation refs with increasing offsets per partition.
type feeder struct {
	offsets map[int32]int64
}

func (f *feeder) ref(partition int32, esc *record.Escalation) record.EscalationRef {
	if f.offsets == nil {
		f.offsets = make(map[int32]int64)
	}
	off := f.offsets[partition]
	f.offsets[partition]++
	return record.EscalationRef{Topic: "escalations", Partition: partition, Offset: off,
		EventID: esc.Enriched.Event.ID}
}

// testConfig returns a configuration for tests: a short debounce and
// update interval, and a model at url when url is not empty.
func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.Incidents.Debounce = 100 * time.Millisecond
	cfg.Incidents.UpdateInterval = time.Second
	cfg.Incidents.TickWait = 5 * time.Second
	if url != "" {
		cfg.Model.BaseURL = url
		cfg.Model.Model = "test-model"
		cfg.Model.APIKeyEnv = ""
		cfg.Model.Timeout = 2 * time.Second
		cfg.Model.BackoffMin = time.Millisecond
		cfg.Model.BackoffMax = 5 * time.Millisecond
	}
	return cfg
}

// chatServer is a chat completions server written for the tests: respond
// decides each answer, and every request body is kept.
type chatServer struct {
	*httptest.Server
	respond func(w http.ResponseWriter, n int, body map[string]any)

	mu     sync.Mutex
	bodies [][]byte
}

func newChatServer(t testing.TB,
	respond func(w http.ResponseWriter, n int, body map[string]any)) *chatServer {
	t.Helper()
	s := &chatServer{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		n := len(s.bodies)
		s.mu.Unlock()
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		s.respond(w, n, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// URL returns the base URL to configure.
func (s *chatServer) URL() string { return s.Server.URL + "/v1" }

// requests returns the number of requests received.
func (s *chatServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// body returns the i-th request body.
func (s *chatServer) body(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[i]
}

// writeCompletion answers with content as the assistant's message.
func writeCompletion(w http.ResponseWriter, content string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content},
		}},
		"usage": map[string]any{"prompt_tokens": 200, "completion_tokens": 50,
			"total_tokens": 250},
	})
}

// validAnswer is an answer that passes ParseAnswer.
func validAnswer() string {
	b, _ := json.Marshal(Answer{
		Summary:          "Latency of checkout rose sixfold.",
		ProbableCause:    "A slow dependency of checkout.",
		Category:         "dependency",
		Evidence:         []string{"checkout latency_ms peaked at 700 against 120 expected"},
		SuggestedActions: []string{"Check the database checkout uses."},
		Confidence:       0.7,
	})
	return string(b)
}

// newExplainer returns an explainer for cfg with unregistered metrics.
func newExplainer(t *testing.T, cfg Config) *Explainer {
	t.Helper()
	e, err := NewExplainer(cfg, Options{})
	if err != nil {
		t.Fatalf("NewExplainer: %v", err)
	}
	return e
}

// dueIncidents adds each group of escalations to a store on a partition
// of its own, and returns the incidents due once the debounce is over.
func dueIncidents(t testing.TB, cfg Config, groups ...[]*record.Escalation) []*Incident {
	t.Helper()
	s := NewStore(cfg.Incidents, nil)
	var f feeder
	now := time.Unix(1000, 0)
	for i, g := range groups {
		for _, e := range g {
			s.Add(f.ref(int32(i), e), e, now)
		}
	}
	due := s.Due(now.Add(cfg.Incidents.Debounce), 100)
	if len(due) != len(groups) {
		t.Fatalf("got %d incidents due, want %d", len(due), len(groups))
	}
	return due
}

// checkoutBurst returns escalations of checkout whose latency went up.
func checkoutBurst(n int) []*record.Escalation {
	var out []*record.Escalation
	for i := range n {
		out = append(out, escalation(escOpts{entity: "checkout",
			at: t0.Add(time.Duration(i) * time.Second), metric: "latency_ms"}))
	}
	return out
}
