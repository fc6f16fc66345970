package explain

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openai/openai-go/v3"
)

// failure is a classified failure of one attempt.
type failure struct {
	kind       string
	retryAfter time.Duration // asked by the server, 0 when it did not say
	status     int           // HTTP status, 0 when there was no response
	err        error
}

func (f *failure) Error() string { return f.kind + ": " + f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// classify says what kind of failure err is. ctx is the call's context:
// when it has ended, the failure is KindCanceled whatever err says.
func classify(ctx context.Context, err error) *failure {
	f := &failure{err: err}
	var apiErr *openai.Error
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		f.kind = KindCanceled
	case errors.Is(err, ErrBadResponse):
		f.kind = KindBadResponse
	case errors.As(err, &apiErr):
		f.status = apiErr.StatusCode
		f.kind = statusKind(apiErr.StatusCode)
		if apiErr.Response != nil {
			f.retryAfter = retryAfter(apiErr.Response.Header, time.Now())
		}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		f.kind = KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.As(err, new(*net.OpError)), errors.As(err, new(*net.DNSError)):
		f.kind = KindConnection
	default:
		// What is left is mostly a body that is not a chat completion,
		// or a connection cut while reading it.
		if strings.Contains(err.Error(), "EOF") {
			f.kind = KindConnection
		} else {
			f.kind = KindBadResponse
		}
	}
	return f
}

// statusKind maps an HTTP error status to a failure kind.
func statusKind(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusRequestTimeout:
		return KindTimeout
	case status >= 500:
		return KindServerError
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return KindBadRequest
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return KindAuth
	}
	return KindHTTP
}

// retryable reports whether an attempt that failed with kind may be tried
// again: the server was slow, unreachable, overloaded or rate limiting.
// Anything else (a refused request, bad credentials, an answer that is
// not a completion) would fail the same way again.
func retryable(kind string) bool {
	switch kind {
	case KindTimeout, KindConnection, KindServerError, KindRateLimited:
		return true
	}
	return false
}

// unhealthy reports whether a failure of kind counts against the circuit
// breaker: the server did not answer, or answered with a 5xx. A 429 or a
// 4xx is an answer from a live server.
func unhealthy(kind string) bool {
	switch kind {
	case KindTimeout, KindConnection, KindServerError:
		return true
	}
	return false
}

// retryAfter reads how long the server asks to wait: "retry-after-ms" (in
// milliseconds, as OpenAI sends) or "Retry-After" in seconds or as an HTTP
// date relative to now. It returns 0 when neither is there or valid.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff returns the wait before attempt n+1 after n failed attempts:
// min·2^(n-1) capped at max, with equal jitter (half fixed, half random).
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits d or until ctx ends, and returns ctx.Err() in the latter
// case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
