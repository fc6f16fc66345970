// Package codec turns record values read from Kafka into triage Events and
// triage's own records back into bytes. It tells the three input formats
// apart by their first bytes: Avro single-object encoding (0xC3 0x01 and a
// schema fingerprint), the Confluent wire format (0x00 and a schema registry
// id) and JSON objects. It maps a decoded value onto an Event with dotted
// paths (see config.Mapping) and writes output in single-object encoding, or
// in the Confluent wire format when a schema registry is configured.
//
// goavro reads and writes every schema but triage's own on the hot path:
// triage.Event input under the default mapping, and Event, EnrichedEvent and
// Escalation output, go through direct codecs that skip goavro's generic
// maps (eventdecode.go, recordencode.go). They accept and refuse the bytes
// goavro does and write what it writes, up to the order of map entries;
// the tests check them against goavro itself.
//
// Every failure is one of two kinds, and the kind decides the record's fate:
// a *Error is permanent (the bytes can never become an Event: dead-letter
// them) and an error wrapping ErrUnavailable is transient (the schema
// registry could not answer: retry later). IsPermanent tells them apart.
//
// This package owns formats and field mapping; it does not read Kafka,
// retry, or decide what to do with a failed record.
package codec
