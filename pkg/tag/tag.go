// Package tag defines the Tagger, the plug-in point of the hot path: each
// tagger looks at one decoded event and adds what it finds (a class, an
// anomaly, a reason to escalate) to the enriched record. It ships the
// pass-through tagger and a threshold rule tagger; classifiers and anomaly
// detectors live in their own packages and implement the same interface.
// Taggers know nothing about Kafka or wire formats.
package tag

import (
	"context"
	"iter"

	"github.com/streamtriage/triage/pkg/record"
)

// Tagger adds its findings to an enriched record.
//
// Tag is called from one goroutine at a time, in consumption order (offset
// order within each partition), so state per entity needs no lock. It
// must not keep a reference to e. An error
// that will never go away for this record should be a *pipeline.Rejection
// (the record is dead-lettered); any other error is retried with backoff.
type Tagger interface {
	// Name identifies the tagger in logs and metrics.
	Name() string
	Tag(ctx context.Context, e *record.Enriched) error
}

// Baseliner is implemented by taggers that know what they expect of an
// entity's metrics. The worker adds these baselines to escalations so that
// an explainer need not read the entity's history itself.
type Baseliner interface {
	Baselines(entity string) []record.Baseline
}

// Stateful is implemented by taggers whose state must survive restarts and
// rebalances. State is kept by input partition (the Provenance of the
// records tagged): the worker checkpoints it in the transaction of the
// records that changed it, restores it when the partition is assigned, and
// has it dropped when the partition goes. The methods are called from the
// goroutine that calls Tag.
type Stateful interface {
	// Checkpoint emits what changed since the last call; a nil value
	// deletes the key.
	Checkpoint(emit func(topic string, partition int32, key string, value []byte))
	// Restore replaces the state of a partition with entries in the order
	// they were written; a later value of a key replaces an earlier one,
	// and a nil value deletes it. It also forgets the partition's changes
	// not yet checkpointed.
	Restore(topic string, partition int32, entries iter.Seq2[string, []byte]) error
	// Revoke drops the state of a partition.
	Revoke(topic string, partition int32)
}

// PassThrough is a tagger that adds nothing. It lets the worker run end to
// end, and it is the baseline the worker's throughput is measured against.
type PassThrough struct{}

// Name returns "pass_through".
func (PassThrough) Name() string { return "pass_through" }

// Tag leaves e as it is.
func (PassThrough) Tag(context.Context, *record.Enriched) error { return nil }
