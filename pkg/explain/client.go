package explain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.uber.org/zap"
)

// outputModes are the ways of shaping the answer, most structured first.
var outputModes = []string{OutputJSONSchema, OutputJSONObject, OutputNone}

// chatMessage is one message of a chat completion request.
type chatMessage struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// completion is a model's answer and what it cost in tokens.
type completion struct {
	Content      string
	InputTokens  int64
	OutputTokens int64
	// Estimated is set when the server reported no usage and the tokens
	// are Tokens of the text.
	Estimated bool
}

// modelClient sends chat completion requests over the official OpenAI Go
// SDK, whose own retries are off: it retries itself, bounded by
// MaxAttempts, behind a circuit breaker and a limit on requests in flight,
// and steps down the output mode when the server refuses it. It is safe
// for concurrent use.
type modelClient struct {
	sdk     openai.Client
	cfg     ModelConfig
	mode    atomic.Int32  // index in outputModes of the mode in use
	sem     chan struct{} // capacity MaxConcurrent; a request holds one slot
	breaker *breaker
	m       *Metrics
	log     *zap.Logger
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
}

// newModelClient returns a client for cfg, which must have a BaseURL. hc
// carries the requests; nil means a new http.Client.
func newModelClient(cfg ModelConfig, hc *http.Client, m *Metrics, log *zap.Logger,
) (*modelClient, error) {
	key, err := apiKey(cfg)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{}
	}
	c := &modelClient{
		cfg:     cfg,
		sem:     make(chan struct{}, cfg.MaxConcurrent),
		breaker: newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown),
		m:       m,
		log:     log,
		now:     time.Now,
		sleep:   sleep,
	}
	// The SDK reads OPENAI_* variables by default; every setting that
	// could carry one of them to BaseURL is set or cleared here.
	c.sdk = openai.NewClient(
		option.WithBaseURL(cfg.BaseURL),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0),
		option.WithAdminAPIKey(""),
		option.WithAPIKey(key),
		option.WithHeaderDel("OpenAI-Organization"),
		option.WithHeaderDel("OpenAI-Project"),
	)
	for i, mode := range outputModes {
		if mode == cfg.Output {
			c.mode.Store(int32(i))
		}
	}
	return c, nil
}

// apiKey reads the key from the file or the variable cfg names.
func apiKey(cfg ModelConfig) (string, error) {
	if cfg.APIKeyFile != "" {
		b, err := os.ReadFile(cfg.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("unable to read model API key: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("model API key file %s is empty", cfg.APIKeyFile)
		}
		return key, nil
	}
	if cfg.APIKeyEnv != "" {
		return strings.TrimSpace(os.Getenv(cfg.APIKeyEnv)), nil
	}
	return "", nil
}

// Mode returns the output mode in use.
func (c *modelClient) Mode() string { return outputModes[c.mode.Load()] }

// complete asks for one completion of msgs. It tries up to MaxAttempts
// times on timeouts, connection failures, 429 and 5xx, waiting a jittered
// exponential backoff or, when longer, the server's Retry-After (a
// Retry-After over MaxRetryAfter ends the call). A 400 or 422 while an
// output mode is in use steps down to the next mode and tries again at
// once, without counting an attempt. It fails with ErrCircuitOpen when the
// breaker refuses an attempt, and otherwise with a *failure.
func (c *modelClient) complete(ctx context.Context, msgs []chatMessage) (completion, error) {
	attempt := 1
	for {
		if !c.breaker.allow(c.now()) {
			c.m.Failures.WithLabelValues(KindCircuitOpen).Inc()
			return completion{}, ErrCircuitOpen
		}
		comp, mode, err := c.send(ctx, msgs)
		if err == nil {
			c.breaker.success()
			return comp, nil
		}

		f := classify(ctx, err)
		c.m.Failures.WithLabelValues(f.kind).Inc()
		switch {
		case unhealthy(f.kind):
			c.breaker.failure(c.now())
		case f.kind == KindCanceled:
			c.breaker.neutral()
		default:
			c.breaker.success() // the server is up, whatever it said
		}

		if f.kind == KindBadRequest && int(mode) < len(outputModes)-1 {
			// The server may not know this output mode: step down once,
			// for every call, and ask again.
			if c.mode.CompareAndSwap(mode, mode+1) {
				c.log.Info("model server refused an output mode, stepping down",
					zap.String("refused", outputModes[mode]),
					zap.String("next", outputModes[mode+1]), zap.Error(err))
			}
			continue
		}
		if !retryable(f.kind) || attempt >= c.cfg.MaxAttempts {
			return completion{}, f
		}
		wait := backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax)
		if f.retryAfter > 0 {
			if f.retryAfter > c.cfg.MaxRetryAfter {
				return completion{}, f
			}
			wait = max(wait, f.retryAfter)
		}
		c.log.Debug("model request failed, retrying", zap.String("kind", f.kind),
			zap.Int("attempt", attempt), zap.Duration("backoff", wait), zap.Error(err))
		if err := c.sleep(ctx, wait); err != nil {
			return completion{}, classify(ctx, err)
		}
		attempt++
	}
}

// send makes one request within Timeout, holding a slot of the
// concurrency limit, in the output mode in use once it holds the slot (so
// that requests queued behind one that found the mode refused use the
// next). It returns the index of the mode used.
func (c *modelClient) send(ctx context.Context, msgs []chatMessage,
) (completion, int32, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return completion{}, c.mode.Load(), ctx.Err()
	}
	defer func() { <-c.sem }()

	mode := c.mode.Load()
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	c.m.Attempts.Inc()
	resp, err := c.sdk.Chat.Completions.New(actx, c.params(msgs, outputModes[mode]))
	if err != nil {
		return completion{}, mode, err
	}
	if len(resp.Choices) == 0 {
		return completion{}, mode, fmt.Errorf("%w: no choices", ErrBadResponse)
	}
	comp := completion{
		Content:      resp.Choices[0].Message.Content,
		InputTokens:  resp.Usage.PromptTokens,
		OutputTokens: resp.Usage.CompletionTokens,
	}
	if comp.InputTokens <= 0 && comp.OutputTokens <= 0 {
		comp.Estimated = true
		for _, m := range msgs {
			comp.InputTokens += int64(Tokens(m.Content))
		}
		comp.OutputTokens = int64(Tokens(comp.Content))
	}
	return comp, mode, nil
}

// params builds the request body.
func (c *modelClient) params(msgs []chatMessage, mode string) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{
		Model:               c.cfg.Model,
		MaxCompletionTokens: openai.Int(int64(c.cfg.MaxOutputTokens)),
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			p.Messages = append(p.Messages, openai.SystemMessage(m.Content))
		case "assistant":
			p.Messages = append(p.Messages, openai.AssistantMessage(m.Content))
		default:
			p.Messages = append(p.Messages, openai.UserMessage(m.Content))
		}
	}
	switch mode {
	case OutputJSONSchema:
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
				JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   answerSchemaN,
					Strict: openai.Bool(true),
					Schema: answerSchema(),
				},
			},
		}
	case OutputJSONObject:
		p.ResponseFormat = openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONObject: &openai.ResponseFormatJSONObjectParam{},
		}
	}
	return p
}

// kindOf returns the failure kind of an error from complete.
func kindOf(err error) string {
	var f *failure
	switch {
	case errors.Is(err, ErrCircuitOpen):
		return KindCircuitOpen
	case errors.Is(err, ErrBudgetSpent):
		return KindBudget
	case errors.As(err, &f):
		return f.kind
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	}
	return KindBadResponse
}
