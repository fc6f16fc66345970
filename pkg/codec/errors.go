package codec

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/twmb/franz-go/pkg/sr"
)

// Reason is the kind of a permanent failure: a short snake_case word fit
// for a dead-letter header or a metric label.
type Reason string

// Reasons of permanent failures. Decoding stops at the first one found.
const (
	// ReasonEmptyValue means the record has no value (a tombstone).
	ReasonEmptyValue Reason = "empty_value"
	// ReasonUnknownFormat means the first bytes are none of the known
	// formats.
	ReasonUnknownFormat Reason = "unknown_format"
	// ReasonTruncatedAvro means the Avro binary does not decode with its
	// schema: too short, malformed, or with bytes left over after the datum.
	ReasonTruncatedAvro Reason = "truncated_avro"
	// ReasonUnknownFingerprint means no schema the decoder knows has the
	// fingerprint of a single-object encoded value.
	ReasonUnknownFingerprint Reason = "unknown_fingerprint"
	// ReasonUnknownSchemaID means the schema registry answered that it has
	// no schema with the id of a Confluent wire-format value.
	ReasonUnknownSchemaID Reason = "unknown_schema_id"
	// ReasonUnsupportedSchema means the registry's schema for an id is not
	// one this decoder can use: not Avro, with references, or unparseable.
	ReasonUnsupportedSchema Reason = "unsupported_schema"
	// ReasonNoRegistry means the value is in the Confluent wire format and
	// no schema registry is configured to look its schema up.
	ReasonNoRegistry Reason = "no_registry"
	// ReasonInvalidJSON means the value starts like a JSON object but is
	// not valid JSON.
	ReasonInvalidJSON Reason = "invalid_json"
	// ReasonNotJSONObject means the value is valid JSON but not an object.
	ReasonNotJSONObject Reason = "not_json_object"
	// ReasonMissingEntity means the entity is missing, null or empty.
	ReasonMissingEntity Reason = "missing_entity"
	// ReasonInvalidUTF8 means a JSON value, or a mapped Avro string, is not
	// valid UTF-8; a JSON \u escape of a lone surrogate counts too.
	ReasonInvalidUTF8 Reason = "invalid_utf8"
	// ReasonInvalidMetric means a metric is NaN, infinite, or not a number.
	ReasonInvalidMetric Reason = "invalid_metric"
	// ReasonInvalidTime means the event time is not a timestamp, an RFC 3339
	// string or epoch milliseconds, or is outside the years 1 to 9999.
	ReasonInvalidTime Reason = "invalid_time"
	// ReasonMapping means a mapped path runs into a value of the wrong
	// type, such as a string where a record or map was expected.
	ReasonMapping Reason = "mapping"
	// ReasonEncode means an output value does not fit its schema (an
	// unknown enum symbol, say); encoding it again fails the same way.
	ReasonEncode Reason = "encode"
)

// Error is a permanent failure: the same bytes (or the same output value)
// fail the same way every time, so retrying is pointless. Its message
// starts with the reason, as in
//
//	unknown_fingerprint: no known schema has fingerprint 0x1a2b3c4d5e6f7081
type Error struct {
	Reason Reason
	Err    error
}

// Error returns the reason, a colon and the details.
func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Reason)
	}
	return string(e.Reason) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func permanent(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

var (
	// ErrUnavailable is wrapped by the error returned when the schema
	// registry could not be reached, timed out, or answered with anything
	// but a schema or "not found". The failure is transient: the record is
	// fine, try it again later.
	ErrUnavailable = errors.New("schema registry unavailable")

	// ErrSchemaRejected is wrapped by the error the Encoder returns when
	// the schema registry refuses to register an output schema
	// (incompatible with the subject, invalid, or not permitted). No record can be
	// written to that topic until the registry or the subject changes, so
	// it is neither a record's fault nor worth a quick retry.
	ErrSchemaRejected = errors.New("schema registry rejected the schema")
)

// IsPermanent reports whether err is (or wraps) a *Error: the record can
// never be decoded and belongs in the dead-letter topic. It is false for
// nil, for transient errors wrapping ErrUnavailable, and for context errors.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// ReasonOf returns the reason of a permanent error, or "" for any other.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// The schema registry's answers are sorted here, and only here.

// fetchError classifies a failed schema lookup by id.
//
//   - ctx done: ctx.Err(), so that shutdown is not mistaken for a failure.
//   - "not found" (HTTP 404): the id does not exist, which no retry changes.
//   - anything else, including 401 and 403: transient. A registry that is
//     down, overloaded (429, 5xx), slow, or refuses our credentials says
//     nothing about the record, and dead-lettering every record until an
//     operator fixes the registry would lose the topic.
func fetchError(ctx context.Context, id int, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *sr.ResponseError
	if errors.As(err, &re) && (re.StatusCode == http.StatusNotFound ||
		re.ErrorCode == sr.ErrSchemaNotFound.Code) {
		return permanent(ReasonUnknownSchemaID, "schema registry has no schema with id %d", id)
	}
	return fmt.Errorf("unable to fetch schema id %d: %w: %w", id, ErrUnavailable, err)
}

// registerError classifies a failed registration of an output schema.
//
//   - ctx done: ctx.Err().
//   - 408, 429 and 5xx answers, and no answer at all: transient.
//   - any other answer (409 incompatible, 422 invalid, 401, 403...):
//     ErrSchemaRejected, which needs a person, not a retry loop.
func registerError(ctx context.Context, subject string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *sr.ResponseError
	if errors.As(err, &re) {
		switch s := re.StatusCode; {
		case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= 500:
		default:
			return fmt.Errorf("unable to register schema under subject %q: %w: %w",
				subject, ErrSchemaRejected, err)
		}
	}
	return fmt.Errorf("unable to register schema under subject %q: %w: %w",
		subject, ErrUnavailable, err)
}
