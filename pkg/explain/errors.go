package explain

import "errors"

// Sentinel errors of the model path. The Explainer never returns them to
// its caller: each one turns into a heuristic explanation and a metric.
var (
	// ErrNoModel is returned when no model base URL is configured.
	ErrNoModel = errors.New("no model configured")
	// ErrBudgetSpent is returned when a call would exceed the token budget
	// of the minute or the day, or the cost budget of the day.
	ErrBudgetSpent = errors.New("model budget spent")
	// ErrCircuitOpen is returned when the circuit breaker refuses a call
	// after repeated failures of the model server.
	ErrCircuitOpen = errors.New("model circuit breaker open")
	// ErrInvalidAnswer is returned when the model's answer does not parse
	// or does not satisfy the answer schema.
	ErrInvalidAnswer = errors.New("invalid model answer")
	// ErrBadResponse is returned when the server's response is not a chat
	// completion (no choices, or a body that does not parse).
	ErrBadResponse = errors.New("bad chat completion response")
	// ErrBadConfig is returned by Config.Validate for a value out of range.
	ErrBadConfig = errors.New("bad explainer config")
	// ErrBadState is returned by Store.Restore for a state entry that does
	// not decode.
	ErrBadState = errors.New("bad incident state")
)

// Kinds of model failures, the label values of the failure and fallback
// metrics. The set is closed.
const (
	KindTimeout       = "timeout"        // an attempt ran past Model.Timeout
	KindConnection    = "connection"     // the server could not be reached
	KindServerError   = "server_error"   // HTTP 5xx
	KindRateLimited   = "rate_limited"   // HTTP 429
	KindBadRequest    = "bad_request"    // HTTP 400 or 422 in the last output mode
	KindAuth          = "auth"           // HTTP 401 or 403
	KindHTTP          = "http_other"     // any other HTTP error status
	KindBadResponse   = "bad_response"   // see ErrBadResponse
	KindInvalidAnswer = "invalid_answer" // see ErrInvalidAnswer
	KindCircuitOpen   = "circuit_open"   // see ErrCircuitOpen
	KindBudget        = "budget"         // see ErrBudgetSpent
	KindNoModel       = "no_model"       // see ErrNoModel
	KindCanceled      = "canceled"       // the caller's context ended
)
