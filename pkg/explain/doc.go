// Package explain owns the explainer's core: it groups escalations into
// incidents (Store), gathers their evidence into a prompt within a token
// budget, redacts personal data from everything that leaves the process,
// asks a model over the OpenAI-compatible Chat Completions API within a
// budget, validates the answer, and falls back to a deterministic heuristic
// so that every incident gets exactly one explanation per round (Explainer).
// Service ties the two together for a consume-produce loop, and Processor
// adapts Service to Kafka records.
//
// It does not own the loop, the transaction or the state topic (package
// pipeline does), nor the wire formats (package codec), and it must not
// change the record types of package record.
package explain
