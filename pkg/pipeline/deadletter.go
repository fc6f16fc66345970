package pipeline

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers the loop adds to a dead-lettered record, after the record's own
// headers. The value and key are the original bytes, untouched.
const (
	HeaderError           = "triage.error"            // the error text
	HeaderReason          = "triage.error.reason"     // the Rejection reason
	HeaderSourceTopic     = "triage.source.topic"     // topic consumed from
	HeaderSourcePartition = "triage.source.partition" // decimal partition
	HeaderSourceOffset    = "triage.source.offset"    // decimal offset
	HeaderSourceTimestamp = "triage.source.timestamp" // RFC 3339, milliseconds
	HeaderWorker          = "triage.worker"           // worker id
)

// timestampLayout is RFC 3339 with milliseconds, the precision of Kafka.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// deadLetter builds the dead-letter record for src rejected with rej.
func deadLetter(topic, worker string, src *kgo.Record, rej *Rejection) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(src.Headers)+7)
	hs = append(hs, src.Headers...)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(rej.Error())},
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(rej.Reason)},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(src.Topic)},
		kgo.RecordHeader{
			Key:   HeaderSourcePartition,
			Value: strconv.AppendInt(nil, int64(src.Partition), 10),
		},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, src.Offset, 10)},
		kgo.RecordHeader{
			Key:   HeaderSourceTimestamp,
			Value: []byte(src.Timestamp.UTC().Format(timestampLayout)),
		},
		kgo.RecordHeader{Key: HeaderWorker, Value: []byte(worker)},
	)
	return &kgo.Record{
		Topic:     topic,
		Key:       src.Key,
		Value:     src.Value,
		Headers:   hs,
		Timestamp: src.Timestamp,
	}
}

// Header returns the value of the last header named key, and whether there
// was one. It is for readers of the dead-letter topic.
func Header(r *kgo.Record, key string) (string, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value), true
		}
	}
	return "", false
}

// recordSize is what a record costs in a produce batch, near enough to
// decide whether it fits under the producer's batch limit.
func recordSize(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value) + len(r.Topic) + 64
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value) + 8
	}
	return n
}
