package record

import (
	"fmt"
	"time"
)

// This file converts the values of this package to and from the native form
// goavro reads and writes for the schemas of package schemas: a record is a
// map[string]any keyed by field name, an array is a []any, a map is a
// map[string]any, a non-null union value is a one-entry map keyed by the
// branch's type name ({"string": s}), null is nil, and timestamp-millis is a
// time.Time. Empty slices and maps come back as nil.

// Union branch names of the nullable records, as goavro keys them.
const (
	classificationBranch = "triage.Classification"
	anomalyBranch        = "triage.Anomaly"
)

// Native returns the event in goavro's native form for triage.Event.
func (e *Event) Native() map[string]any {
	var text any
	if e.Text != nil {
		text = map[string]any{"string": *e.Text}
	}
	metrics := make(map[string]any, len(e.Metrics))
	for _, m := range e.Metrics {
		metrics[m.Name] = m.Value
	}
	attrs := make(map[string]any, len(e.Attributes))
	for _, a := range e.Attributes {
		attrs[a.Key] = a.Value
	}
	return map[string]any{
		"id":         e.ID,
		"event_time": e.Time,
		"source":     e.Source,
		"entity":     e.Entity,
		"text":       text,
		"metrics":    metrics,
		"attributes": attrs,
	}
}

// EventFromNative reads an Event from goavro's native form of triage.Event.
// It fails, naming the field, when v does not have that shape.
func EventFromNative(v any) (Event, error) {
	var r nativeReader
	e := r.event(v, "event")
	return e, r.err
}

// Native returns the enriched event in goavro's native form for
// triage.EnrichedEvent. A metric anomaly without a Direction is written as
// DirectionNone.
func (e *Enriched) Native() map[string]any {
	var class, anomaly any
	if c := e.Classification; c != nil {
		class = map[string]any{classificationBranch: map[string]any{
			"label":         c.Label,
			"confidence":    c.Confidence,
			"model_version": c.ModelVersion,
		}}
	}
	if a := e.Anomaly; a != nil {
		metrics := make([]any, len(a.Metrics))
		for i, m := range a.Metrics {
			dir := m.Direction
			if dir == "" {
				dir = DirectionNone
			}
			metrics[i] = map[string]any{
				"metric":       m.Metric,
				"value":        m.Value,
				"expected":     m.Expected,
				"lower":        m.Lower,
				"upper":        m.Upper,
				"direction":    string(dir),
				"contribution": m.Contribution,
			}
		}
		anomaly = map[string]any{anomalyBranch: map[string]any{
			"score":   a.Score,
			"flagged": a.Flagged,
			"metrics": metrics,
		}}
	}
	p := &e.Provenance
	return map[string]any{
		"event":          e.Event.Native(),
		"classification": class,
		"anomaly":        anomaly,
		"escalate":       e.Escalate,
		"reasons":        stringsNative(e.Reasons),
		"provenance": map[string]any{
			"topic":        p.Topic,
			"partition":    p.Partition,
			"offset":       p.Offset,
			"worker_id":    p.WorkerID,
			"processed_at": p.ProcessedAt,
		},
	}
}

// EnrichedFromNative reads an Enriched from goavro's native form of
// triage.EnrichedEvent. It fails, naming the field, when v does not have
// that shape.
func EnrichedFromNative(v any) (Enriched, error) {
	var r nativeReader
	e := r.enriched(v, "enriched")
	return e, r.err
}

// Native returns the escalation in goavro's native form for
// triage.Escalation.
func (e *Escalation) Native() map[string]any {
	recent := make([]any, len(e.Recent))
	for i := range e.Recent {
		recent[i] = e.Recent[i].Native()
	}
	baselines := make([]any, len(e.Baselines))
	for i, b := range e.Baselines {
		baselines[i] = map[string]any{
			"metric":   b.Metric,
			"expected": b.Expected,
			"lower":    b.Lower,
			"upper":    b.Upper,
			"samples":  b.Samples,
		}
	}
	return map[string]any{
		"enriched":  e.Enriched.Native(),
		"recent":    recent,
		"baselines": baselines,
	}
}

// EscalationFromNative reads an Escalation from goavro's native form of
// triage.Escalation. It fails, naming the field, when v does not have that
// shape.
func EscalationFromNative(v any) (Escalation, error) {
	var r nativeReader
	const p = "escalation"
	m := r.record(v, p)
	e := Escalation{Enriched: r.enriched(r.field(m, p, "enriched"), p+".enriched")}
	for i, x := range r.array(m, p, "recent") {
		e.Recent = append(e.Recent, r.event(x, indexPath("escalation.recent", i)))
	}
	for i, x := range r.array(m, p, "baselines") {
		path := indexPath("escalation.baselines", i)
		b := r.record(x, path)
		e.Baselines = append(e.Baselines, Baseline{
			Metric:   r.str(b, path, "metric"),
			Expected: r.double(b, path, "expected"),
			Lower:    r.double(b, path, "lower"),
			Upper:    r.double(b, path, "upper"),
			Samples:  r.long(b, path, "samples"),
		})
	}
	if r.err != nil {
		return Escalation{}, r.err
	}
	return e, nil
}

// Native returns the explanation in goavro's native form for
// triage.Explanation. An empty Model is written as null and Latency in
// whole milliseconds.
func (e *Explanation) Native() map[string]any {
	var model any
	if e.Model != "" {
		model = map[string]any{"string": e.Model}
	}
	refs := make([]any, len(e.Escalations))
	for i, r := range e.Escalations {
		refs[i] = map[string]any{
			"topic":     r.Topic,
			"partition": r.Partition,
			"offset":    r.Offset,
			"event_id":  r.EventID,
		}
	}
	return map[string]any{
		"incident_id":       e.IncidentID,
		"entities":          stringsNative(e.Entities),
		"start":             e.Start,
		"end":               e.End,
		"summary":           e.Summary,
		"probable_cause":    e.ProbableCause,
		"evidence":          stringsNative(e.Evidence),
		"suggested_actions": stringsNative(e.SuggestedActions),
		"confidence":        e.Confidence,
		"source":            string(e.Source),
		"model":             model,
		"input_tokens":      e.InputTokens,
		"output_tokens":     e.OutputTokens,
		"cost_usd":          e.CostUSD,
		"latency_ms":        e.Latency.Milliseconds(),
		"escalations":       refs,
	}
}

// ExplanationFromNative reads an Explanation from goavro's native form of
// triage.Explanation. It fails, naming the field, when v does not have that
// shape.
func ExplanationFromNative(v any) (Explanation, error) {
	var r nativeReader
	const p = "explanation"
	m := r.record(v, p)
	e := Explanation{
		IncidentID:       r.str(m, p, "incident_id"),
		Entities:         r.strings(m, p, "entities"),
		Start:            r.timestamp(m, p, "start"),
		End:              r.timestamp(m, p, "end"),
		Summary:          r.str(m, p, "summary"),
		ProbableCause:    r.str(m, p, "probable_cause"),
		Evidence:         r.strings(m, p, "evidence"),
		SuggestedActions: r.strings(m, p, "suggested_actions"),
		Confidence:       r.double(m, p, "confidence"),
		Source:           ExplanationSource(r.str(m, p, "source")),
		InputTokens:      r.long(m, p, "input_tokens"),
		OutputTokens:     r.long(m, p, "output_tokens"),
		CostUSD:          r.double(m, p, "cost_usd"),
		Latency:          time.Duration(r.long(m, p, "latency_ms")) * time.Millisecond,
	}
	if model := r.optionalString(m, p, "model"); model != nil {
		e.Model = *model
	}
	for i, x := range r.array(m, p, "escalations") {
		path := indexPath("explanation.escalations", i)
		ref := r.record(x, path)
		e.Escalations = append(e.Escalations, EscalationRef{
			Topic:     r.str(ref, path, "topic"),
			Partition: int32(r.long(ref, path, "partition")),
			Offset:    r.long(ref, path, "offset"),
			EventID:   r.str(ref, path, "event_id"),
		})
	}
	if r.err != nil {
		return Explanation{}, r.err
	}
	return e, nil
}

func stringsNative(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// nativeReader reads typed fields out of goavro native values. The first
// failure sticks in err, naming the field by its path; reads after it return
// zero values, so a caller checks err once at the end.
type nativeReader struct {
	err error
}

func (r *nativeReader) fail(path, key string, v any, want string) {
	if r.err != nil {
		return
	}
	if key != "" {
		path += "." + key
	}
	if v == nil {
		r.err = fmt.Errorf("record: %s: missing or null, want %s", path, want)
		return
	}
	r.err = fmt.Errorf("record: %s: got %T, want %s", path, v, want)
}

func (r *nativeReader) event(v any, p string) Event {
	m := r.record(v, p)
	e := Event{
		ID:         r.str(m, p, "id"),
		Time:       r.timestamp(m, p, "event_time"),
		Source:     r.str(m, p, "source"),
		Entity:     r.str(m, p, "entity"),
		Text:       r.optionalString(m, p, "text"),
		Metrics:    MetricsOf(nativeMap[float64](r, m, p, "metrics", "a float64")),
		Attributes: AttributesOf(nativeMap[string](r, m, p, "attributes", "a string")),
	}
	if r.err != nil {
		return Event{}
	}
	return e
}

func (r *nativeReader) enriched(v any, p string) Enriched {
	m := r.record(v, p)
	e := Enriched{
		Event:    r.event(r.field(m, p, "event"), p+".event"),
		Escalate: r.boolean(m, p, "escalate"),
		Reasons:  r.strings(m, p, "reasons"),
	}
	if c := r.union(m, p, "classification", classificationBranch); c != nil {
		cp := p + ".classification"
		e.Classification = &Classification{
			Label:        r.str(c, cp, "label"),
			Confidence:   r.double(c, cp, "confidence"),
			ModelVersion: r.str(c, cp, "model_version"),
		}
	}
	if a := r.union(m, p, "anomaly", anomalyBranch); a != nil {
		ap := p + ".anomaly"
		e.Anomaly = &Anomaly{
			Score:   r.double(a, ap, "score"),
			Flagged: r.boolean(a, ap, "flagged"),
		}
		for i, x := range r.array(a, ap, "metrics") {
			path := indexPath(ap+".metrics", i)
			mm := r.record(x, path)
			e.Anomaly.Metrics = append(e.Anomaly.Metrics, MetricAnomaly{
				Metric:       r.str(mm, path, "metric"),
				Value:        r.double(mm, path, "value"),
				Expected:     r.double(mm, path, "expected"),
				Lower:        r.double(mm, path, "lower"),
				Upper:        r.double(mm, path, "upper"),
				Direction:    Direction(r.str(mm, path, "direction")),
				Contribution: r.double(mm, path, "contribution"),
			})
		}
	}
	pp := p + ".provenance"
	prov := r.record(r.field(m, p, "provenance"), pp)
	e.Provenance = Provenance{
		Topic:       r.str(prov, pp, "topic"),
		Partition:   int32(r.long(prov, pp, "partition")),
		Offset:      r.long(prov, pp, "offset"),
		WorkerID:    r.str(prov, pp, "worker_id"),
		ProcessedAt: r.timestamp(prov, pp, "processed_at"),
	}
	if r.err != nil {
		return Enriched{}
	}
	return e
}

func (r *nativeReader) record(v any, path string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		r.fail(path, "", v, "a record")
	}
	return m
}

func (r *nativeReader) field(m map[string]any, path, key string) any {
	v, ok := m[key]
	if !ok && m != nil {
		r.fail(path, key, nil, "a field")
	}
	return v
}

func (r *nativeReader) str(m map[string]any, path, key string) string {
	s, ok := m[key].(string)
	if !ok {
		r.fail(path, key, m[key], "a string")
	}
	return s
}

func (r *nativeReader) optionalString(m map[string]any, path, key string) *string {
	switch v := m[key].(type) {
	case nil:
		return nil
	case map[string]any:
		if s, ok := v["string"].(string); ok && len(v) == 1 {
			return &s
		}
	}
	r.fail(path, key, m[key], `null or {"string": string}`)
	return nil
}

func (r *nativeReader) union(m map[string]any, path, key, branch string) map[string]any {
	switch v := m[key].(type) {
	case nil:
		return nil
	case map[string]any:
		if rec, ok := v[branch].(map[string]any); ok && len(v) == 1 {
			return rec
		}
	}
	r.fail(path, key, m[key], "null or {"+branch+": record}")
	return nil
}

func (r *nativeReader) long(m map[string]any, path, key string) int64 {
	switch v := m[key].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int:
		return int64(v)
	}
	r.fail(path, key, m[key], "an integer")
	return 0
}

func (r *nativeReader) double(m map[string]any, path, key string) float64 {
	switch v := m[key].(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	}
	r.fail(path, key, m[key], "a float64")
	return 0
}

func (r *nativeReader) boolean(m map[string]any, path, key string) bool {
	b, ok := m[key].(bool)
	if !ok {
		r.fail(path, key, m[key], "a bool")
	}
	return b
}

func (r *nativeReader) timestamp(m map[string]any, path, key string) time.Time {
	switch v := m[key].(type) {
	case time.Time:
		return v.UTC()
	case int64:
		return time.UnixMilli(v).UTC()
	}
	r.fail(path, key, m[key], "a time.Time")
	return time.Time{}
}

func (r *nativeReader) array(m map[string]any, path, key string) []any {
	a, ok := m[key].([]any)
	if !ok {
		r.fail(path, key, m[key], "an array")
	}
	return a
}

func (r *nativeReader) strings(m map[string]any, path, key string) []string {
	a := r.array(m, path, key)
	if len(a) == 0 {
		return nil
	}
	out := make([]string, len(a))
	for i, v := range a {
		s, ok := v.(string)
		if !ok {
			r.fail(indexPath(path+"."+key, i), "", v, "a string")
		}
		out[i] = s
	}
	return out
}

// nativeMap reads m[key] as a goavro map whose values are all of type V,
// failing r with want, the name of V, for the first that is not.
func nativeMap[V any](r *nativeReader, m map[string]any, path, key, want string) map[string]V {
	mm, ok := m[key].(map[string]any)
	if !ok {
		r.fail(path, key, m[key], "a map")
	}
	out := make(map[string]V, len(mm))
	for k, v := range mm {
		x, ok := v.(V)
		if !ok {
			r.fail(path+"."+key, k, v, want)
		}
		out[k] = x
	}
	return out
}

func indexPath(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
