// Package pipeline owns the consume-transform-produce loop: a consumer
// group over the input topics, a Processor that turns each record into the
// records to write, dead-lettering of records that can never be processed,
// retries of those that failed for a passing reason, and the transaction (or
// the at-least-once commit) that makes one batch's outputs and its consumed
// offsets visible together. It knows nothing of record formats or taggers.
package pipeline
