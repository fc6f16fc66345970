package pipeline

import (
	"errors"
	"fmt"
)

// Rejection is the error a Processor returns for a record that can never be
// processed: the loop writes the record to the dead-letter topic with Reason
// and the error text in its headers, and moves on. Any other error from a
// Processor is taken as transient and the record is retried with backoff.
type Rejection struct {
	// Reason is a short snake_case kind, such as "truncated_avro"; it is
	// the label of the dead-letter metric, so its set must stay small.
	Reason string
	Err    error
}

// Reject returns a *Rejection for reason and err.
func Reject(reason string, err error) error {
	return &Rejection{Reason: reason, Err: err}
}

func (r *Rejection) Error() string {
	if r.Err == nil {
		return r.Reason
	}
	return r.Reason + ": " + r.Err.Error()
}

func (r *Rejection) Unwrap() error { return r.Err }

// AsRejection reports whether err is, or wraps, a *Rejection. The loop
// asks for every record, so it allocates nothing.
func AsRejection(err error) (*Rejection, bool) {
	if err == nil {
		return nil, false
	}
	return errors.AsType[*Rejection](err)
}

// Reasons the loop itself gives for dead-lettering a record.
const (
	// ReasonTooLarge: the record's value is over Config.MaxRecordBytes.
	ReasonTooLarge = "too_large"
	// ReasonOutputTooLarge: a record the processor made from this one is
	// over Config.MaxOutputBytes, so it could never be produced.
	ReasonOutputTooLarge = "output_too_large"
	// ReasonPanic: the processor panicked on this record.
	ReasonPanic = "panic"
)

func panicRejection(v any) error {
	return &Rejection{Reason: ReasonPanic, Err: fmt.Errorf("processor panicked: %v", v)}
}
