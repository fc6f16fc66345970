package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/streamtriage/triage/pkg/codec"
	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/kafkatest"
	"github.com/streamtriage/triage/pkg/record"
	"github.com/streamtriage/triage/pkg/worker"
)

// runExplainer runs an explainer over cfg until the test ends.
func runExplainer(t *testing.T, cfg config.Config) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config is invalid: %v", err)
	}
	if err := worker.CheckExplainer(cfg); err != nil {
		t.Fatal(err)
	}
	e, err := worker.NewExplainer(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("explainer Run returned %v, want nil", err)
		}
	})
}

// explainerConfig adds the explainer's topics to a worker test config.
func explainerConfig(t *testing.T, c *kafkatest.Cluster, cfg config.Config) config.Config {
	t.Helper()
	compact := "compact"
	cfg.Explainer.Group = c.Group(t, "explainer")
	cfg.Explainer.ExplanationsTopic = c.Topic(t, "explanations", 2, nil)
	cfg.Explainer.StateTopic = c.Topic(t, "explainer-state", 2,
		map[string]*string{"cleanup.policy": &compact})
	cfg.Explainer.HTTPListen = ""
	cfg.Explainer.Debounce = 300 * time.Millisecond
	return cfg
}

// produceIncidents writes, for each entity, 20 ordinary events and then
// spikes latency_ms spikes a second apart, which the worker's rule
// escalates. Each entity's events are an hour of event time after the
// previous entity's, so that each entity's spikes are one incident of
// their own, not one of entities that moved together. Card numbers and
// email addresses ride in the text of the spikes.
func produceIncidents(t *testing.T, c *kafkatest.Cluster, topic string, spikes int,
	entities ...string) {
	t.Helper()
	enc, _ := codec.NewEncoder(codec.EncoderOptions{})
	var rs []*kgo.Record
	for n, entity := range entities {
		for i := range 20 + spikes {
			ev := event(entity, 100)
			ev.ID = fmt.Sprintf("%s-%d", entity, i)
			ev.Time = ev.Time.Add(time.Duration(n)*time.Hour + time.Duration(i)*time.Second)
			if i >= 20 {
				ev.Metrics = record.MetricsOf(map[string]float64{"latency_ms": 900})
				text := "card 4111 1111 1111 1111 declined, write to jane.doe@example.com"
				ev.Text = &text
			}
			v, err := enc.Event(context.Background(), topic, &ev)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(entity), Value: v})
		}
	}
	c.Produce(t, rs...)
}

// readExplanations reads n explanations, and checks that no more come.
func readExplanations(t *testing.T, c *kafkatest.Cluster, cfg config.Config, n int,
) []record.Explanation {
	t.Helper()
	dec, _ := codec.NewDecoder(codec.DecoderOptions{Mapping: cfg.Input.Mapping})
	rs := c.ReadAll(t, cfg.Explainer.ExplanationsTopic, n, time.Minute)
	if more := c.ReadAll(t, cfg.Explainer.ExplanationsTopic, n+1, 2*time.Second); len(more) > n {
		rs = more
	}
	var out []record.Explanation
	for _, r := range rs {
		_, native, err := dec.Native(context.Background(), r.Value)
		if err != nil {
			t.Fatalf("explanation does not decode: %v", err)
		}
		ex, err := record.ExplanationFromNative(native)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != ex.IncidentID {
			t.Errorf("got key %q, want the incident id %q", r.Key, ex.IncidentID)
		}
		out = append(out, ex)
	}
	return out
}

// checkCoverage checks that the explanations are one per incident and
// cover every escalation once.
func checkCoverage(t *testing.T, exs []record.Explanation, incidents, escalations int) {
	t.Helper()
	if len(exs) != incidents {
		t.Fatalf("got %d explanations, want %d, one per incident", len(exs), incidents)
	}
	ids := map[string]bool{}
	refs := map[string]int{}
	for _, ex := range exs {
		ids[ex.IncidentID] = true
		for _, r := range ex.Escalations {
			refs[fmt.Sprintf("%d/%d", r.Partition, r.Offset)]++
		}
		if len(ex.Entities) != 1 || ex.Summary == "" || len(ex.Evidence) == 0 {
			t.Errorf("got explanation %+v, want one entity, a summary and evidence", ex)
		}
	}
	if len(ids) != incidents {
		t.Errorf("got %d incident ids in %d explanations, want %d", len(ids), len(exs), incidents)
	}
	for k, n := range refs {
		if n != 1 {
			t.Errorf("escalation %s is in %d explanations, want 1", k, n)
		}
	}
	if len(refs) != escalations {
		t.Errorf("got %d escalations explained, want %d", len(refs), escalations)
	}
}

func TestExplainerWritesOneHeuristicExplanationPerIncident(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		cfg := explainerConfig(t, c, testConfig(t, c))
		produceIncidents(t, c, cfg.Input.Topics[0], 4, "checkout", "search", "payments")
		runWorker(t, cfg)
		runExplainer(t, cfg)

		exs := readExplanations(t, c, cfg, 3)
		checkCoverage(t, exs, 3, 12)
		for _, ex := range exs {
			if ex.Source != record.SourceHeuristic || ex.Model != "" || ex.InputTokens != 0 {
				t.Errorf("got source %q, model %q, %d tokens; want the heuristic, no model",
					ex.Source, ex.Model, ex.InputTokens)
			}
		}
	})
}

// chatServer answers chat completions with a valid explanation and keeps
// the request bodies.
type chatServer struct {
	mu     sync.Mutex
	bodies []string
}

func (s *chatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	answer, _ := json.Marshal(map[string]any{
		"summary":           "Latency of the service rose tenfold.",
		"probable_cause":    "A slow dependency.",
		"category":          "dependency",
		"evidence":          []string{"latency_ms 900 against about 100"},
		"suggested_actions": []string{"Check the database."},
		"confidence":        0.7,
	})
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id": "c1", "object": "chat.completion", "created": 1, "model": "test-model",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": string(answer)}}},
		"usage": map[string]any{"prompt_tokens": 500, "completion_tokens": 100,
			"total_tokens": 600},
	})
}

func TestExplainerAsksTheModelOncePerIncidentWithoutPersonalData(t *testing.T) {
	kafkatest.Run(t, func(t *testing.T, c *kafkatest.Cluster) {
		chat := &chatServer{}
		srv := httptest.NewServer(chat)
		t.Cleanup(srv.Close)
		cfg := explainerConfig(t, c, testConfig(t, c))
		cfg.Explainer.Model.BaseURL = srv.URL + "/v1"
		cfg.Explainer.Model.Name = "test-model"
		cfg.Explainer.Model.APIKeyEnv = "TRIAGE_TEST_NO_SUCH_KEY"
		cfg.Explainer.Budget.InputPricePer1K = 0.01
		produceIncidents(t, c, cfg.Input.Topics[0], 3, "checkout", "search")
		runWorker(t, cfg)
		runExplainer(t, cfg)

		exs := readExplanations(t, c, cfg, 2)
		checkCoverage(t, exs, 2, 6)
		for _, ex := range exs {
			if ex.Source != record.SourceModel || ex.Model != "test-model" ||
				ex.InputTokens != 500 || ex.OutputTokens != 100 || ex.CostUSD <= 0 {
				t.Errorf("got source %q, model %q, tokens %d/%d, cost %v; want the model's "+
					"answer with its usage and cost", ex.Source, ex.Model, ex.InputTokens,
					ex.OutputTokens, ex.CostUSD)
			}
		}
		chat.mu.Lock()
		defer chat.mu.Unlock()
		if len(chat.bodies) != 2 {
			t.Errorf("got %d model calls, want 2, one per incident", len(chat.bodies))
		}
		for _, b := range chat.bodies {
			for _, secret := range []string{"4111 1111 1111 1111", "4111111111111111",
				"jane.doe@example.com"} {
				if strings.Contains(b, secret) {
					t.Errorf("a request to the model holds %q", secret)
				}
			}
		}
	})
}
