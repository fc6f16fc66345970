package explain

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/streamtriage/triage/pkg/record"
)

// Partition names an input partition: the one an escalation was read from,
// and the one whose state holds an incident.
type Partition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// Incident is a group of escalations of one entity, or of entities that
// moved together, within a window of event time. Its exported fields are
// its serialised state; Store owns the live incidents, and the *Incident
// values Due returns are copies the caller may read from any goroutine.
type Incident struct {
	// ID is derived from the first escalation's topic, partition and
	// offset, so a replay after a restart gives the same id.
	ID string `json:"id"`
	// Home is the partition of the first escalation: the incident's state
	// is kept with that partition's.
	Home Partition `json:"home"`
	// Entities in the order they joined.
	Entities []string `json:"entities"`
	// Start and End are the least and greatest event times.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// FirstSeen and LastSeen are the processing times of the first and
	// latest escalation.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Count is the number of escalations, including those past MaxRefs.
	Count int `json:"count"`
	// Refs point at the first MaxRefs escalations.
	Refs []record.EscalationRef `json:"refs"`
	// Head holds the first KeepEscalations/2 escalations in full, and Tail
	// the latest ones after those, oldest first.
	Head []record.Escalation `json:"head"`
	Tail []record.Escalation `json:"tail,omitempty"`
	// Keys are the correlation keys seen ("m:latency_ms:up", "c:fraud")
	// with the latest event time of each.
	Keys map[string]time.Time `json:"keys,omitempty"`
	// Metrics, Classes and PerEntity summarise every escalation, kept or
	// not.
	Metrics   []MetricStats `json:"metrics,omitempty"`
	Classes   []ClassStats  `json:"classes,omitempty"`
	PerEntity []EntityStats `json:"per_entity"`
	// Placeholders number the personal data found in the incident.
	Placeholders Placeholders `json:"placeholders"`
	// Explained is Count as of the latest explanation, at ExplainedAt;
	// Rounds counts the explanations written.
	Explained   int       `json:"explained"`
	ExplainedAt time.Time `json:"explained_at"`
	Rounds      int       `json:"rounds"`
	// Closed incidents take no new escalations; they are dropped once
	// explained.
	Closed bool `json:"closed,omitempty"`

	inFlight bool   // Store only: handed out by Due, not yet Done
	gen      uint64 // Store only: changes when the incident is restored or revoked
	covered  int    // on copies from Due: Count when copied
}

// MetricStats summarises one anomalous metric of one entity in an
// incident. Event times throughout.
type MetricStats struct {
	Entity    string           `json:"entity"`
	Metric    string           `json:"metric"`
	Direction record.Direction `json:"direction"`
	Count     int              `json:"count"`
	First     time.Time        `json:"first"`
	Last      time.Time        `json:"last"`
	// The escalation where the metric was farthest outside its band.
	Peak      time.Time `json:"peak"`
	PeakValue float64   `json:"peak_value"`
	Expected  float64   `json:"expected"`
	Lower     float64   `json:"lower"`
	Upper     float64   `json:"upper"`
	// Deviation is how far PeakValue is outside [Lower, Upper], in widths
	// of the band (or of |Expected| when the band is empty).
	Deviation float64 `json:"deviation"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
}

// ClassStats counts the escalated records of one class.
type ClassStats struct {
	Label    string    `json:"label"`
	Count    int       `json:"count"`
	Entities []string  `json:"entities"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// EntityStats summarises one entity's escalations.
type EntityStats struct {
	Entity   string    `json:"entity"`
	Count    int       `json:"count"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	MaxScore float64   `json:"max_score"`
	Reasons  []string  `json:"reasons,omitempty"` // distinct, at most maxReasons
}

const maxReasons = 8

// Covered returns the number of escalations an explanation of the copy
// covers: Count when Due copied it, or Count for an incident built by
// hand.
func (inc *Incident) Covered() int {
	if inc.covered > 0 {
		return inc.covered
	}
	return inc.Count
}

// Update reports whether explaining the copy updates an earlier
// explanation.
func (inc *Incident) Update() bool { return inc.Rounds > 0 }

// Escalations returns the escalations kept in full, oldest first.
func (inc *Incident) Escalations() []record.Escalation {
	return slices.Concat(inc.Head, inc.Tail)
}

// IncidentID returns the id of an incident whose first escalation is at
// topic, partition and offset: "inc-" and 16 hex digits.
func IncidentID(topic string, partition int32, offset int64) string {
	h := sha256.New()
	h.Write([]byte(topic))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(int64(partition), 10)))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(offset, 10)))
	return "inc-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// clone returns a deep copy of inc, with covered set.
func (inc *Incident) clone() *Incident {
	c := *inc
	c.Entities = slices.Clone(inc.Entities)
	c.Refs = slices.Clone(inc.Refs)
	c.Head = slices.Clone(inc.Head)
	c.Tail = slices.Clone(inc.Tail)
	c.Keys = maps.Clone(inc.Keys)
	c.Metrics = slices.Clone(inc.Metrics)
	c.Classes = slices.Clone(inc.Classes)
	for i := range c.Classes {
		c.Classes[i].Entities = slices.Clone(c.Classes[i].Entities)
	}
	c.PerEntity = slices.Clone(inc.PerEntity)
	for i := range c.PerEntity {
		c.PerEntity[i].Reasons = slices.Clone(c.PerEntity[i].Reasons)
	}
	c.Placeholders = inc.Placeholders.clone()
	c.covered = inc.Count
	return &c
}

// keysOf returns the correlation keys of an escalation other than its
// entity: each metric that moved, with its direction, and the class.
func keysOf(e *record.Enriched, metrics, classes bool) []string {
	var keys []string
	if metrics && e.Anomaly != nil {
		for _, m := range e.Anomaly.Metrics {
			if m.Direction == record.DirectionUp || m.Direction == record.DirectionDown {
				keys = append(keys, "m:"+m.Metric+":"+string(m.Direction))
			}
		}
	}
	if classes && e.Classification != nil && e.Classification.Label != "" {
		keys = append(keys, "c:"+e.Classification.Label)
	}
	return keys
}

// within reports whether t is within w of the incident's event times.
func (inc *Incident) within(t time.Time, w time.Duration) bool {
	return !t.Before(inc.Start.Add(-w)) && !t.After(inc.End.Add(w))
}

// sharesKey reports whether inc saw one of keys within w of t.
func (inc *Incident) sharesKey(keys []string, t time.Time, w time.Duration) bool {
	for _, k := range keys {
		if last, ok := inc.Keys[k]; ok && absDuration(t.Sub(last)) <= w {
			return true
		}
	}
	return false
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// add puts one escalation into inc. esc is copied; its floats are made
// finite first so that the state always serialises.
func (inc *Incident) add(
	cfg *IncidentConfig, ref record.EscalationRef, esc *record.Escalation, now time.Time,
	keys []string, red *Redactor,
) {
	e := finiteEscalation(esc)
	ev := &e.Enriched.Event
	t := ev.Time

	if inc.Count == 0 || t.Before(inc.Start) {
		inc.Start = t
	}
	if inc.Count == 0 || t.After(inc.End) {
		inc.End = t
	}
	if inc.Count == 0 {
		inc.FirstSeen = now
	}
	inc.LastSeen = now
	inc.Count++
	if len(inc.Refs) < cfg.MaxRefs {
		inc.Refs = append(inc.Refs, ref)
	}
	if !slices.Contains(inc.Entities, ev.Entity) {
		inc.Entities = append(inc.Entities, ev.Entity)
	}
	half := cfg.KeepEscalations / 2
	if len(inc.Head) < half {
		inc.Head = append(inc.Head, e)
	} else {
		if len(inc.Tail) >= cfg.KeepEscalations-half {
			inc.Tail = slices.Delete(inc.Tail, 0, 1)
		}
		inc.Tail = append(inc.Tail, e)
	}
	if len(keys) > 0 && inc.Keys == nil {
		inc.Keys = make(map[string]time.Time)
	}
	for _, k := range keys {
		if last, ok := inc.Keys[k]; !ok || t.After(last) {
			inc.Keys[k] = t
		}
	}

	inc.addStats(&e)
	// Numbering placeholders here, in arrival order, keeps them the same
	// for the life of the incident whatever a prompt later shows.
	if red != nil {
		forEachText(&e, func(s string) { red.Redact(s, &inc.Placeholders) })
	}
}

// addStats folds e into the incident's summaries.
func (inc *Incident) addStats(e *record.Escalation) {
	ev := &e.Enriched.Event
	t := ev.Time

	i := slices.IndexFunc(inc.PerEntity, func(s EntityStats) bool { return s.Entity == ev.Entity })
	if i < 0 {
		inc.PerEntity = append(inc.PerEntity, EntityStats{Entity: ev.Entity, First: t, Last: t})
		i = len(inc.PerEntity) - 1
	}
	es := &inc.PerEntity[i]
	es.Count++
	es.First, es.Last = minTime(es.First, t), maxTime(es.Last, t)
	if a := e.Enriched.Anomaly; a != nil {
		es.MaxScore = max(es.MaxScore, a.Score)
	}
	for _, r := range e.Enriched.Reasons {
		if len(es.Reasons) < maxReasons && !slices.Contains(es.Reasons, r) {
			es.Reasons = append(es.Reasons, r)
		}
	}

	if a := e.Enriched.Anomaly; a != nil {
		for _, m := range a.Metrics {
			if m.Direction != record.DirectionUp && m.Direction != record.DirectionDown {
				continue
			}
			inc.addMetric(ev.Entity, t, m)
		}
	}

	if c := e.Enriched.Classification; c != nil && c.Label != "" {
		j := slices.IndexFunc(inc.Classes, func(s ClassStats) bool { return s.Label == c.Label })
		if j < 0 {
			inc.Classes = append(inc.Classes, ClassStats{Label: c.Label, First: t, Last: t})
			j = len(inc.Classes) - 1
		}
		cs := &inc.Classes[j]
		cs.Count++
		cs.First, cs.Last = minTime(cs.First, t), maxTime(cs.Last, t)
		if !slices.Contains(cs.Entities, ev.Entity) {
			cs.Entities = append(cs.Entities, ev.Entity)
		}
	}
}

func (inc *Incident) addMetric(entity string, t time.Time, m record.MetricAnomaly) {
	dev := Deviation(m)
	i := slices.IndexFunc(inc.Metrics, func(s MetricStats) bool {
		return s.Entity == entity && s.Metric == m.Metric && s.Direction == m.Direction
	})
	if i < 0 {
		inc.Metrics = append(inc.Metrics, MetricStats{
			Entity: entity, Metric: m.Metric, Direction: m.Direction,
			First: t, Last: t, Min: m.Value, Max: m.Value, Deviation: -1,
		})
		i = len(inc.Metrics) - 1
	}
	ms := &inc.Metrics[i]
	ms.Count++
	ms.First, ms.Last = minTime(ms.First, t), maxTime(ms.Last, t)
	ms.Min, ms.Max = min(ms.Min, m.Value), max(ms.Max, m.Value)
	if dev > ms.Deviation {
		ms.Deviation = dev
		ms.Peak, ms.PeakValue = t, m.Value
		ms.Expected, ms.Lower, ms.Upper = m.Expected, m.Lower, m.Upper
	}
}

// Deviation returns how far m's value is outside its band, in widths of
// the band, or of |Expected| when the band is empty, or of 1 when both
// are zero. A value inside the band gives 0.
func Deviation(m record.MetricAnomaly) float64 {
	width := m.Upper - m.Lower
	if !(width > 0) {
		width = math.Abs(m.Expected)
	}
	if !(width > 0) {
		width = 1
	}
	var d float64
	switch {
	case m.Value > m.Upper:
		d = (m.Value - m.Upper) / width
	case m.Value < m.Lower:
		d = (m.Lower - m.Value) / width
	}
	return finite(d)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// finite maps NaN to 0 and the infinities to the largest finite values,
// which JSON can carry.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

// finiteEscalation returns a copy of esc whose floats are finite. The
// slices it changes are copied; the others are shared with esc.
func finiteEscalation(esc *record.Escalation) record.Escalation {
	e := *esc
	e.Enriched.Event.Metrics = finiteMetrics(e.Enriched.Event.Metrics)
	if c := e.Enriched.Classification; c != nil {
		cc := *c
		cc.Confidence = finite(cc.Confidence)
		e.Enriched.Classification = &cc
	}
	if a := e.Enriched.Anomaly; a != nil {
		ac := *a
		ac.Score = finite(ac.Score)
		ac.Metrics = slices.Clone(a.Metrics)
		for i := range ac.Metrics {
			m := &ac.Metrics[i]
			m.Value, m.Expected = finite(m.Value), finite(m.Expected)
			m.Lower, m.Upper = finite(m.Lower), finite(m.Upper)
			m.Contribution = finite(m.Contribution)
		}
		e.Enriched.Anomaly = &ac
	}
	if len(esc.Recent) > 0 {
		e.Recent = slices.Clone(esc.Recent)
		for i := range e.Recent {
			e.Recent[i].Metrics = finiteMetrics(e.Recent[i].Metrics)
		}
	}
	e.Baselines = slices.Clone(esc.Baselines)
	for i := range e.Baselines {
		b := &e.Baselines[i]
		b.Expected, b.Lower, b.Upper = finite(b.Expected), finite(b.Lower), finite(b.Upper)
	}
	return e
}

func finiteMetrics(ms record.Metrics) record.Metrics {
	for i := range ms {
		if finite(ms[i].Value) != ms[i].Value {
			out := slices.Clone(ms)
			for j := range out {
				out[j].Value = finite(out[j].Value)
			}
			return out
		}
	}
	return ms
}

// forEachText calls f with every string of e that a prompt may show.
func forEachText(e *record.Escalation, f func(string)) {
	eventText(&e.Enriched.Event, f)
	for _, r := range e.Enriched.Reasons {
		f(r)
	}
	for i := range e.Recent {
		eventText(&e.Recent[i], f)
	}
}

func eventText(ev *record.Event, f func(string)) {
	f(ev.Entity)
	f(ev.ID)
	f(ev.Source)
	if ev.Text != nil {
		f(*ev.Text)
	}
	for _, a := range ev.Attributes {
		f(a.Key)
		f(a.Value)
	}
}

// sortedByFirst returns the indexes of xs ordered by first(x), then by
// index, so that orders are deterministic.
func sortedByFirst[T any](xs []T, first func(*T) time.Time) []int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return first(&xs[a]).Compare(first(&xs[b]))
	})
	return idx
}

// byDeviation orders metric summaries by deviation, largest first, then by
// first time and name.
func byDeviation(a, b MetricStats) int {
	if c := cmp.Compare(b.Deviation, a.Deviation); c != 0 {
		return c
	}
	if c := a.First.Compare(b.First); c != 0 {
		return c
	}
	return cmp.Compare(a.Entity+"\x00"+a.Metric, b.Entity+"\x00"+b.Metric)
}
