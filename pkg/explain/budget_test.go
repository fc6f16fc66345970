package explain

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	now := time.Date(2024, 3, 4, 23, 58, 30, 0, time.UTC)
	b := newBudget(BudgetConfig{TokensPerMinute: 1000, TokensPerDay: 1500,
		InputPricePer1K: 1, OutputPricePer1K: 2})

	r1, err := b.reserve(now, 600, 200)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.reserve(now, 100, 200); !errors.Is(err, ErrBudgetSpent) {
		t.Fatalf("got %v for 1100 tokens in a minute of 1000, want ErrBudgetSpent", err)
	}
	if cost := b.settle(r1, 300, 100); cost != 0.5 {
		t.Errorf("got cost %g for 300 in and 100 out, want 0.5", cost)
	}
	if m, d := b.left(now); m != 600 || d != 1100 {
		t.Errorf("got %d and %d left after settling 400, want 600 and 1100", m, d)
	}
	if _, err := b.reserve(now, 400, 200); err != nil {
		t.Errorf("got %v for what settling freed, want nil", err)
	}

	t.Run("the next minute has its own budget, the day does not", func(t *testing.T) {
		later := now.Add(40 * time.Second) // 23:59:10, same day
		if m, d := b.left(later); m != 1000 || d != 500 {
			t.Errorf("got %d and %d left, want 1000 and 500", m, d)
		}
		if _, err := b.reserve(later, 400, 200); !errors.Is(err, ErrBudgetSpent) {
			t.Errorf("got %v for 600 tokens with 500 left in the day", err)
		}
	})

	t.Run("a new UTC day starts afresh", func(t *testing.T) {
		if _, err := b.reserve(now.Add(2*time.Minute), 900, 100); err != nil {
			t.Errorf("got %v on a new day, want nil", err)
		}
	})

	t.Run("no limits means no refusals", func(t *testing.T) {
		free := newBudget(BudgetConfig{})
		if _, err := free.reserve(now, 1e12, 1e12); err != nil {
			t.Errorf("got %v, want nil", err)
		}
		if m, d := free.left(now); m != -1 || d != -1 {
			t.Errorf("got %d and %d left, want -1 for no limit", m, d)
		}
	})

	t.Run("the cost of the day is bounded", func(t *testing.T) {
		c := newBudget(BudgetConfig{CostPerDayUSD: 1, InputPricePer1K: 1})
		if _, err := c.reserve(now, 900, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := c.reserve(now, 200, 0); !errors.Is(err, ErrBudgetSpent) {
			t.Errorf("got %v past the day's cost, want ErrBudgetSpent", err)
		}
	})
}

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBreaker(2, time.Minute)
	b.failure(now)
	if !b.allow(now) {
		t.Fatal("refused after one failure of two")
	}
	b.failure(now)
	if b.allow(now.Add(59*time.Second)) || b.state(now) != breakerOpen {
		t.Fatal("allowed a call while open")
	}
	if !b.allow(now.Add(time.Minute)) {
		t.Fatal("refused the probe after the cooldown")
	}
	if b.allow(now.Add(time.Minute)) {
		t.Fatal("allowed a second call while the probe is in flight")
	}
	b.failure(now.Add(time.Minute))
	if b.allow(now.Add(90 * time.Second)) {
		t.Fatal("allowed a call after the probe failed")
	}
	if !b.allow(now.Add(2 * time.Minute)) {
		t.Fatal("refused the second probe")
	}
	b.success()
	if b.state(now) != breakerClosed || !b.allow(now) || !b.allow(now) {
		t.Error("not closed after a successful probe")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		header, value string
		want          time.Duration
	}{
		{"Retry-After", "3", 3 * time.Second},
		{"Retry-After", "0.5", 500 * time.Millisecond},
		{"Retry-After", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"Retry-After", now.Add(-time.Second).Format(http.TimeFormat), 0},
		{"Retry-After", "soon", 0},
		{"Retry-After-Ms", "250", 250 * time.Millisecond},
		{"X-Other", "3", 0},
	} {
		h := http.Header{}
		h.Set(c.header, c.value)
		if got := retryAfter(h, now); got != c.want {
			t.Errorf("%s: %s: got %v, want %v", c.header, c.value, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if got := backoff(n+1, lo, hi); got < want/2 || got > want {
				t.Fatalf("backoff(%d): got %v, want in [%v, %v]", n+1, got, want/2, want)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("the default config: got %v, want nil", err)
	}
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"a zero window", func(c *Config) { c.Incidents.Window = 0 }, "incidents.window"},
		{"a negative debounce", func(c *Config) { c.Incidents.Debounce = -1 },
			"incidents.debounce"},
		{"a model without a name", func(c *Config) { c.Model.BaseURL = "http://x/v1" },
			"model.model"},
		{"an unknown output mode", func(c *Config) {
			c.Model.BaseURL, c.Model.Model, c.Model.Output = "http://x/v1", "m", "xml"
		}, `model.output "xml"`},
		{"a minute budget under one call", func(c *Config) {
			c.Model.BaseURL, c.Model.Model = "http://x/v1", "m"
			c.Budget.TokensPerMinute = 100
		}, "budget.tokens_per_minute 100"},
		{"a tiny prompt", func(c *Config) { c.Prompt.MaxTokens = 10 }, "prompt.max_tokens 10"},
		{"a negative price", func(c *Config) { c.Budget.InputPricePer1K = -1 },
			"budget.cost_per_day_usd"},
	} {
		t.Run(c.name+" is refused", func(t *testing.T) {
			cfg := DefaultConfig()
			c.set(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrBadConfig naming %s", err, c.want)
			}
		})
	}
}
