package explain

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamtriage/triage/pkg/record"
)

// scenario runs n incidents of one escalation each through a Service over
// an explainer for cfg, ticking until every incident has an explanation
// or a deadline passes, and returns the explanations.
func scenario(t *testing.T, cfg Config, e *Explainer, n int) []record.Explanation {
	t.Helper()
	svc := NewService(cfg, e)
	t.Cleanup(svc.Close)
	var f feeder
	start := time.Now()
	for i := range n {
		esc := escalation(escOpts{entity: fmt.Sprintf("svc-%d", i),
			at: t0.Add(time.Duration(i) * time.Hour), metric: "latency_ms"})
		svc.Add(f.ref(0, esc), esc, start)
	}

	var out []record.Explanation
	emit := func(x record.Explanation) error { out = append(out, x); return nil }
	deadline := time.Now().Add(30 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		if err := svc.Tick(context.Background(), time.Now(), emit); err != nil {
			t.Fatalf("Tick: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A few more ticks must not explain anything twice.
	for range 3 {
		svc.Tick(context.Background(), time.Now(), emit)
	}
	if len(out) != n {
		t.Fatalf("got %d explanations, want %d", len(out), n)
	}
	seen := map[string]bool{}
	for _, x := range out {
		if seen[x.IncidentID] {
			t.Errorf("incident %s explained twice", x.IncidentID)
		}
		seen[x.IncidentID] = true
	}
	return out
}

// sources counts explanations by source.
func sources(xs []record.Explanation) map[record.ExplanationSource]int {
	m := map[record.ExplanationSource]int{}
	for _, x := range xs {
		m[x.Source]++
	}
	return m
}

func TestExplainerAgainstAChatServer(t *testing.T) {
	for _, c := range []struct {
		name    string
		respond func(w http.ResponseWriter, n int, body map[string]any)
		// want: explanations by source, and the most requests allowed
		model, heuristic int
		maxRequests      int
		fallback         string // the fallback reason counted, if any
	}{
		{
			name: "a valid answer is used",
			respond: func(w http.ResponseWriter, _ int, _ map[string]any) {
				writeCompletion(w, validAnswer())
			},
			model: 2, maxRequests: 2,
		},
		{
			name: "garbage is repaired once, then the heuristic answers",
			respond: func(w http.ResponseWriter, _ int, _ map[string]any) {
				writeCompletion(w, "The database, probably. Sorry, no JSON today.")
			},
			heuristic: 2, maxRequests: 4, fallback: KindInvalidAnswer,
		},
		{
			name: "a schema violation that the repair fixes is used",
			respond: func(w http.ResponseWriter, _ int, body map[string]any) {
				if len(body["messages"].([]any)) > 2 {
					writeCompletion(w, validAnswer())
					return
				}
				writeCompletion(w, answerWith(func(m map[string]any) { m["category"] = "aliens" }))
			},
			model: 2, maxRequests: 4,
		},
		{
			name: "a schema violation that stays falls back",
			respond: func(w http.ResponseWriter, _ int, _ map[string]any) {
				writeCompletion(w, answerWith(func(m map[string]any) { m["confidence"] = 7 }))
			},
			heuristic: 2, maxRequests: 4, fallback: KindInvalidAnswer,
		},
		{
			name: "a body that is not a completion falls back at once",
			respond: func(w http.ResponseWriter, _ int, _ map[string]any) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`<html>gateway says hello</html>`))
			},
			heuristic: 2, maxRequests: 2, fallback: KindBadResponse,
		},
		{
			name: "a server that always fails with 500 is tried MaxAttempts times",
			respond: func(w http.ResponseWriter, _ int, _ map[string]any) {
				http.Error(w, `{"error":{"message":"boom"}}`, http.StatusInternalServerError)
			},
			heuristic: 2, maxRequests: 6, fallback: KindServerError,
		},
		{
			name: "a 500 then a valid answer is retried",
			respond: func(w http.ResponseWriter, n int, _ map[string]any) {
				if n%2 == 1 {
					http.Error(w, "busy", http.StatusBadGateway)
					return
				}
				writeCompletion(w, validAnswer())
			},
			model: 2, maxRequests: 4,
		},
		{
			name: "a 429 asking for too long a wait falls back",
			respond: func(w http.ResponseWriter, _ int, _ map[string]any) {
				w.Header().Set("Retry-After", "3600")
				http.Error(w, "slow down", http.StatusTooManyRequests)
			},
			heuristic: 2, maxRequests: 2, fallback: KindRateLimited,
		},
		{
			name: "a refused json_schema steps down to json_object",
			respond: func(w http.ResponseWriter, _ int, body map[string]any) {
				rf, _ := body["response_format"].(map[string]any)
				if rf["type"] == "json_schema" {
					http.Error(w, `{"error":{"message":"unknown response_format"}}`,
						http.StatusBadRequest)
					return
				}
				writeCompletion(w, validAnswer())
			},
			model: 2, maxRequests: 3,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newChatServer(t, c.respond)
			cfg := testConfig(srv.URL())
			cfg.Model.MaxConcurrent = 1
			cfg.Model.BreakerFailures = 100 // the breaker has a test of its own
			cfg.Budget = BudgetConfig{TokensPerMinute: 100000, InputPricePer1K: 0.5,
				OutputPricePer1K: 1.5}
			e := newExplainer(t, cfg)
			xs := scenario(t, cfg, e, 2)

			got := sources(xs)
			if got[record.SourceModel] != c.model || got[record.SourceHeuristic] != c.heuristic {
				t.Errorf("got sources %v, want %d model and %d heuristic", got, c.model,
					c.heuristic)
			}
			if n := srv.requests(); n > c.maxRequests {
				t.Errorf("got %d requests, want at most %d", n, c.maxRequests)
			}
			if c.fallback != "" {
				if n := testutil.ToFloat64(e.m.Fallbacks.WithLabelValues(c.fallback)); n != 2 {
					t.Errorf("got %g fallbacks for %s, want 2", n, c.fallback)
				}
			}
			for _, x := range xs {
				checkAccounting(t, x, cfg.Budget)
			}
		})
	}
}

// checkAccounting checks the tokens and cost an explanation records.
func checkAccounting(t *testing.T, x record.Explanation, b BudgetConfig) {
	t.Helper()
	switch x.Source {
	case record.SourceModel:
		if x.InputTokens < 200 || x.OutputTokens < 50 || x.Model != "test-model" {
			t.Errorf("got %d/%d tokens from %q, want at least the 200/50 one call reports",
				x.InputTokens, x.OutputTokens, x.Model)
		}
		want := float64(x.InputTokens)/1000*b.InputPricePer1K +
			float64(x.OutputTokens)/1000*b.OutputPricePer1K
		if d := x.CostUSD - want; d > 1e-12 || d < -1e-12 {
			t.Errorf("got cost %g, want %g", x.CostUSD, want)
		}
	case record.SourceHeuristic:
		if x.InputTokens != 0 || x.CostUSD != 0 || x.Model != "" {
			t.Errorf("got a heuristic with %d tokens, cost %g, model %q", x.InputTokens,
				x.CostUSD, x.Model)
		}
	}
}

func TestExplainerRetryAfter(t *testing.T) {
	srv := newChatServer(t, func(w http.ResponseWriter, n int, _ map[string]any) {
		if n == 1 {
			w.Header().Set("Retry-After", "2")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		writeCompletion(w, validAnswer())
	})
	cfg := testConfig(srv.URL())
	e := newExplainer(t, cfg)
	var mu sync.Mutex
	var waits []time.Duration
	e.client.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}
	xs := scenario(t, cfg, e, 1)
	if xs[0].Source != record.SourceModel {
		t.Errorf("got source %s, want model", xs[0].Source)
	}
	if len(waits) != 1 || waits[0] < 2*time.Second {
		t.Errorf("got waits %v, want one of at least the 2s Retry-After", waits)
	}
}

func TestExplainerSlowServer(t *testing.T) {
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, _ map[string]any) {
		time.Sleep(400 * time.Millisecond)
		writeCompletion(w, validAnswer())
	})
	cfg := testConfig(srv.URL())
	cfg.Model.Timeout = 100 * time.Millisecond
	cfg.Model.MaxAttempts = 2
	e := newExplainer(t, cfg)
	xs := scenario(t, cfg, e, 1)
	if xs[0].Source != record.SourceHeuristic {
		t.Errorf("got source %s, want heuristic", xs[0].Source)
	}
	if n := srv.requests(); n != 2 {
		t.Errorf("got %d requests, want MaxAttempts 2", n)
	}
	if n := testutil.ToFloat64(e.m.Failures.WithLabelValues(KindTimeout)); n != 2 {
		t.Errorf("got %g timeouts counted, want 2", n)
	}
}

func TestExplainerConnectionRefusedOpensTheBreaker(t *testing.T) {
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, _ map[string]any) {})
	url := srv.URL()
	srv.Close() // nothing listens there any more

	cfg := testConfig(url)
	cfg.Model.MaxAttempts = 2
	cfg.Model.BreakerFailures = 3
	cfg.Model.BreakerCooldown = time.Hour
	cfg.Model.MaxConcurrent = 1
	cfg.Incidents.MaxInFlight = 1
	e := newExplainer(t, cfg)
	xs := scenario(t, cfg, e, 4)
	if got := sources(xs); got[record.SourceHeuristic] != 4 {
		t.Errorf("got sources %v, want 4 heuristic", got)
	}
	// The first incident fails its 2 attempts, the second its first one,
	// which opens the breaker: its retry and the 2 other incidents are
	// refused without a request.
	attempts := testutil.ToFloat64(e.m.Attempts)
	if attempts != 3 {
		t.Errorf("got %g attempts, want 3 before the breaker opened", attempts)
	}
	if n := testutil.ToFloat64(e.m.Fallbacks.WithLabelValues(KindConnection)); n != 1 {
		t.Errorf("got %g fallbacks for connection failures, want 1", n)
	}
	if n := testutil.ToFloat64(e.m.Fallbacks.WithLabelValues(KindCircuitOpen)); n != 3 {
		t.Errorf("got %g fallbacks with the breaker open, want 3", n)
	}
	if s := testutil.ToFloat64(e.m.Breaker); s != breakerOpen {
		t.Errorf("got breaker state %g, want open", s)
	}
}

func TestExplainerBudget(t *testing.T) {
	// The server reports the tokens of the request as Tokens counts them.
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, body map[string]any) {
		in := 0
		for _, m := range body["messages"].([]any) {
			in += Tokens(m.(map[string]any)["content"].(string))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "c", "object": "chat.completion", "created": 1, "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": validAnswer()}}},
			"usage": map[string]any{"prompt_tokens": in,
				"completion_tokens": Tokens(validAnswer())},
		})
	})
	cfg := testConfig(srv.URL())
	cfg.Prompt.MaxTokens = 1000
	cfg.Model.MaxOutputTokens = 200
	// Room for a few calls, not five.
	cfg.Budget.TokensPerDay = 3000
	cfg.Incidents.MaxInFlight = 1
	e := newExplainer(t, cfg)
	xs := scenario(t, cfg, e, 5)

	var used int64
	for _, x := range xs {
		used += x.InputTokens + x.OutputTokens
	}
	if used > cfg.Budget.TokensPerDay {
		t.Errorf("got %d tokens used, over the day's %d", used, cfg.Budget.TokensPerDay)
	}
	got := sources(xs)
	if got[record.SourceModel] == 0 || got[record.SourceHeuristic] == 0 {
		t.Errorf("got sources %v, want some from the model then the heuristic", got)
	}
	if n := testutil.ToFloat64(e.m.Fallbacks.WithLabelValues(KindBudget)); n !=
		float64(got[record.SourceHeuristic]) {
		t.Errorf("got %g budget fallbacks, want %d", n, got[record.SourceHeuristic])
	}
	if n := srv.requests(); n != got[record.SourceModel] {
		t.Errorf("got %d requests for %d model explanations", n, got[record.SourceModel])
	}
}

func TestExplainerRemembersTheOutputMode(t *testing.T) {
	srv := newChatServer(t, func(w http.ResponseWriter, _ int, body map[string]any) {
		if _, ok := body["response_format"]; ok {
			http.Error(w, `{"error":{"message":"response_format is not supported"}}`,
				http.StatusUnprocessableEntity)
			return
		}
		writeCompletion(w, "```json\n"+validAnswer()+"\n```")
	})
	cfg := testConfig(srv.URL())
	cfg.Model.MaxConcurrent = 1
	cfg.Incidents.MaxInFlight = 1
	e := newExplainer(t, cfg)
	xs := scenario(t, cfg, e, 3)
	if got := sources(xs); got[record.SourceModel] != 3 {
		t.Errorf("got sources %v, want 3 from the model", got)
	}
	// json_schema, json_object, none; then none for the two others.
	if n := srv.requests(); n != 5 {
		t.Errorf("got %d requests, want 5", n)
	}
	if e.client.Mode() != OutputNone {
		t.Errorf("got mode %s, want none", e.client.Mode())
	}
	var last map[string]any
	json.Unmarshal(srv.body(srv.requests()-1), &last)
	msgs := last["messages"].([]any)
	sys := msgs[0].(map[string]any)["content"].(string)
	if !strings.Contains(sys, `"probable_cause"`) {
		t.Error("without an output mode, the instructions do not describe the answer")
	}
}

func TestExplainerWithoutModel(t *testing.T) {
	cfg := testConfig("")
	e := newExplainer(t, cfg)
	xs := scenario(t, cfg, e, 3)
	if got := sources(xs); got[record.SourceHeuristic] != 3 {
		t.Errorf("got sources %v, want 3 heuristic", got)
	}
	if n := testutil.ToFloat64(e.m.Fallbacks.WithLabelValues(KindNoModel)); n != 3 {
		t.Errorf("got %g no-model fallbacks, want 3", n)
	}
}
