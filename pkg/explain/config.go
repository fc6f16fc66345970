package explain

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Config is the explainer's configuration. The zero value is not usable;
// start from DefaultConfig, which needs no model and explains every
// incident with the heuristic.
type Config struct {
	Incidents IncidentConfig
	Model     ModelConfig
	Budget    BudgetConfig
	Prompt    PromptConfig
	Redact    RedactConfig
}

// IncidentConfig says how escalations are grouped into incidents and when
// an incident is explained.
type IncidentConfig struct {
	// Window is the event-time gap within which an escalation joins an
	// incident: of the same entity, or of another entity that moved the
	// same way (same metric and direction, or same class). An incident
	// closes to new escalations once none joined it for Window of
	// processing time; event time cannot close it, since partitions run
	// at their own pace. Default 5m.
	Window time.Duration
	// Debounce is how long, in processing time, an incident waits after
	// its first escalation before its first explanation, so that one
	// explanation covers the burst. Default 10s.
	Debounce time.Duration
	// UpdateInterval is the least processing time between two explanations
	// of one incident: escalations that join after the first explanation
	// are explained together once it has passed. Default 5m.
	UpdateInterval time.Duration
	// CorrelateMetrics lets escalations of different entities join one
	// incident when an anomalous metric of the same name moved the same
	// way in both. Default true.
	CorrelateMetrics bool
	// CorrelateClasses lets escalations of different entities join one
	// incident when their records have the same class. Default true.
	CorrelateClasses bool
	// MaxEntities bounds the entities of one incident; an escalation of a
	// further entity opens a new incident. Default 20.
	MaxEntities int
	// MaxRefs bounds the escalation references an incident keeps and its
	// explanations list; escalations past it are counted and summarised.
	// Default 500.
	MaxRefs int
	// KeepEscalations is how many escalations an incident keeps in full
	// for the prompt: the first half and the latest half. Default 32.
	KeepEscalations int
	// MaxInFlight bounds the incidents being explained at once by a
	// Service; due incidents past it wait for the next tick. Default 16.
	MaxInFlight int
	// TickWait is the longest a Service's Tick waits for the explanations
	// it started, so that a model that answers in time is written by the
	// same Tick; slower ones are written by a later Tick. Default 5s.
	TickWait time.Duration
}

// ModelConfig says which model server to ask and how. An empty BaseURL
// means no model: every explanation is heuristic.
type ModelConfig struct {
	// BaseURL is the root of the OpenAI-compatible API, the part before
	// "/chat/completions": "http://localhost:11434/v1" for Ollama,
	// "https://api.openai.com/v1" for OpenAI. Default "" (no model).
	BaseURL string
	// Model is the model name sent with each request; required with a
	// BaseURL.
	Model string
	// APIKeyFile, when set, is a file holding the API key (surrounding
	// white space is ignored); it takes precedence over APIKeyEnv.
	APIKeyFile string
	// APIKeyEnv names the environment variable holding the API key. An
	// unset variable means no key, as local servers need. The key is sent
	// to BaseURL only. Default "OPENAI_API_KEY".
	APIKeyEnv string
	// Timeout bounds one attempt of one call, from sending the request to
	// reading the whole answer. Default 60s.
	Timeout time.Duration
	// Output is the first way asked of the server to shape the answer:
	// "json_schema" (structured output), "json_object" or "none"
	// (instructions alone). A server that refuses a mode with HTTP 400 or
	// 422 is asked again in the next one, and the client keeps the mode
	// that worked. Default "json_schema".
	Output string
	// MaxAttempts bounds the attempts of one call, retries included; only
	// timeouts, connection failures, 429 and 5xx are retried.
	// Default 3.
	MaxAttempts int
	// BackoffMin and BackoffMax bound the jittered exponential backoff
	// between attempts. Defaults 500ms and 10s.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits for; a
	// server asking for longer ends the call. Default 30s.
	MaxRetryAfter time.Duration
	// MaxConcurrent bounds the requests in flight to the server.
	// Default 2.
	MaxConcurrent int
	// BreakerFailures is the number of consecutive failed attempts
	// (timeouts, connection failures, 5xx) that opens the circuit breaker.
	// Default 5.
	BreakerFailures int
	// BreakerCooldown is how long the breaker stays open before it lets
	// one probe call through. Default 30s.
	BreakerCooldown time.Duration
	// MaxOutputTokens bounds the answer (max_completion_tokens).
	// Default 800.
	MaxOutputTokens int
}

// BudgetConfig bounds what the model may cost. Zero limits are no limit.
type BudgetConfig struct {
	// TokensPerMinute and TokensPerDay bound input plus output tokens in
	// each clock minute and UTC day. A call is refused when its estimate
	// (prompt tokens plus Model.MaxOutputTokens) would go past either.
	TokensPerMinute int64
	TokensPerDay    int64
	// CostPerDayUSD bounds the cost of a UTC day, estimated the same way.
	CostPerDayUSD float64
	// InputPricePer1K and OutputPricePer1K are US dollars per 1000 input
	// and output tokens, to record each call's cost. Default 0.
	InputPricePer1K  float64
	OutputPricePer1K float64
}

// PromptConfig shapes the prompt.
type PromptConfig struct {
	// MaxTokens bounds the prompt (system and user messages), counted as
	// bytes/4 rounded up; what does not fit is summarised. Default 3000.
	MaxTokens int
	// RecentEvents is how many of an entity's recent events before its
	// first escalation the prompt shows. Default 5.
	RecentEvents int
}

// RedactConfig adds patterns to the built-in redaction of emails, phone
// numbers, card numbers, IBANs and IP addresses.
type RedactConfig struct {
	// Patterns maps a placeholder type (upper case letters, digits and
	// underscores, as in "CUSTOMER_ID") to a regular expression (RE2
	// syntax) whose matches are replaced by "<CUSTOMER_ID_1>"...
	Patterns map[string]string
}

// Output modes of ModelConfig.Output, from the most to the least
// structured.
const (
	OutputJSONSchema = "json_schema"
	OutputJSONObject = "json_object"
	OutputNone       = "none"
)

// DefaultConfig returns the configuration used unless told otherwise: no
// model, heuristic explanations only.
func DefaultConfig() Config {
	return Config{
		Incidents: IncidentConfig{
			Window:           5 * time.Minute,
			Debounce:         10 * time.Second,
			UpdateInterval:   5 * time.Minute,
			CorrelateMetrics: true,
			CorrelateClasses: true,
			MaxEntities:      20,
			MaxRefs:          500,
			KeepEscalations:  32,
			MaxInFlight:      16,
			TickWait:         5 * time.Second,
		},
		Model: ModelConfig{
			APIKeyEnv:       "OPENAI_API_KEY",
			Timeout:         60 * time.Second,
			Output:          OutputJSONSchema,
			MaxAttempts:     3,
			BackoffMin:      500 * time.Millisecond,
			BackoffMax:      10 * time.Second,
			MaxRetryAfter:   30 * time.Second,
			MaxConcurrent:   2,
			BreakerFailures: 5,
			BreakerCooldown: 30 * time.Second,
			MaxOutputTokens: 800,
		},
		Prompt: PromptConfig{MaxTokens: 3000, RecentEvents: 5},
	}
}

// placeholderType is what a RedactConfig.Patterns key must look like.
var placeholderType = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,31}$`)

// builtinTypes are the placeholder types of the built-in detectors, which
// a configured pattern may not reuse.
var builtinTypes = map[string]bool{
	"EMAIL": true, "PHONE": true, "CARD": true, "IBAN": true, "IP": true,
}

// Validate reports every value out of its range, each named by its path
// and wrapping ErrBadConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...))
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			bad("%s %v must be positive", name, d)
		}
	}
	atLeast := func(name string, v, min int) {
		if v < min {
			bad("%s %d must be at least %d", name, v, min)
		}
	}

	i := &c.Incidents
	positive("incidents.window", i.Window)
	positive("incidents.update_interval", i.UpdateInterval)
	if i.Debounce < 0 {
		bad("incidents.debounce %v must not be negative", i.Debounce)
	}
	atLeast("incidents.max_entities", i.MaxEntities, 1)
	atLeast("incidents.max_refs", i.MaxRefs, 1)
	atLeast("incidents.keep_escalations", i.KeepEscalations, 2)
	atLeast("incidents.max_in_flight", i.MaxInFlight, 1)
	if i.TickWait < 0 {
		bad("incidents.tick_wait %v must not be negative", i.TickWait)
	}

	m := &c.Model
	if m.BaseURL != "" {
		if m.Model == "" {
			bad("model.model is empty but model.base_url %q is set", m.BaseURL)
		}
		positive("model.timeout", m.Timeout)
		atLeast("model.max_attempts", m.MaxAttempts, 1)
		positive("model.backoff_min", m.BackoffMin)
		if m.BackoffMax < m.BackoffMin {
			bad("model.backoff_max %v is under model.backoff_min %v", m.BackoffMax, m.BackoffMin)
		}
		if m.MaxRetryAfter < 0 {
			bad("model.max_retry_after %v must not be negative", m.MaxRetryAfter)
		}
		atLeast("model.max_concurrent", m.MaxConcurrent, 1)
		atLeast("model.breaker_failures", m.BreakerFailures, 1)
		positive("model.breaker_cooldown", m.BreakerCooldown)
		atLeast("model.max_output_tokens", m.MaxOutputTokens, 16)
		switch m.Output {
		case OutputJSONSchema, OutputJSONObject, OutputNone:
		default:
			bad("model.output %q is not one of json_schema, json_object, none", m.Output)
		}
	}

	b := &c.Budget
	if b.TokensPerMinute < 0 || b.TokensPerDay < 0 {
		bad("budget.tokens_per_minute %d and budget.tokens_per_day %d must not be negative",
			b.TokensPerMinute, b.TokensPerDay)
	}
	if b.CostPerDayUSD < 0 || b.InputPricePer1K < 0 || b.OutputPricePer1K < 0 {
		bad("budget.cost_per_day_usd %g and the prices %g, %g must not be negative",
			b.CostPerDayUSD, b.InputPricePer1K, b.OutputPricePer1K)
	}
	if m.BaseURL != "" && b.TokensPerMinute > 0 &&
		b.TokensPerMinute < int64(c.Prompt.MaxTokens+m.MaxOutputTokens) {
		bad("budget.tokens_per_minute %d is under one call's %d (prompt.max_tokens"+
			" and model.max_output_tokens): no call would ever fit",
			b.TokensPerMinute, c.Prompt.MaxTokens+m.MaxOutputTokens)
	}

	atLeast("prompt.max_tokens", c.Prompt.MaxTokens, minPromptTokens)
	atLeast("prompt.recent_events", c.Prompt.RecentEvents, 0)

	for name, expr := range c.Redact.Patterns {
		if !placeholderType.MatchString(name) || builtinTypes[name] {
			bad("redact.patterns key %q must be 1-32 of A-Z, 0-9, _ and not a built-in type",
				name)
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			bad("redact.patterns[%s] %q: %v", name, expr, err)
		} else if re.MatchString("") {
			bad("redact.patterns[%s] %q matches the empty string", name, expr)
		}
	}
	return errors.Join(errs...)
}
