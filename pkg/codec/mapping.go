package codec

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/record"
)

// Paths of an empty config.Mapping field: the field names of triage.Event.
const (
	defaultIDPath         = "id"
	defaultEventTimePath  = "event_time"
	defaultSourcePath     = "source"
	defaultEntityPath     = "entity"
	defaultTextPath       = "text"
	defaultMetricsPath    = "metrics"
	defaultAttributesPath = "attributes"
)

// Event times outside the years 1 to 9999 are refused: RFC 3339 cannot
// write them, and nothing real happened then.
var (
	minEventTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxEventTime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// mapping is a config.Mapping with defaults filled in and each path split
// at its dots, before any schema is known. A path cannot name a key that
// itself has a dot in it.
type mapping struct {
	id, eventTime, source, entity, text, metrics, attributes pathSpec
	metricFields                                             []metricSpec // by name
}

type pathSpec struct {
	text string   // as configured, for messages
	keys []string // text split at dots
}

type metricSpec struct {
	name string
	path pathSpec
}

func newMapping(m config.Mapping) (*mapping, error) {
	var (
		out mapping
		err error
	)
	for _, f := range []struct {
		field, path, def string
		dst              *pathSpec
	}{
		{"id", m.ID, defaultIDPath, &out.id},
		{"event_time", m.EventTime, defaultEventTimePath, &out.eventTime},
		{"source", m.Source, defaultSourcePath, &out.source},
		{"entity", m.Entity, defaultEntityPath, &out.entity},
		{"text", m.Text, defaultTextPath, &out.text},
		{"metrics", m.Metrics, defaultMetricsPath, &out.metrics},
		{"attributes", m.Attributes, defaultAttributesPath, &out.attributes},
	} {
		p := f.path
		if p == "" {
			p = f.def
		}
		if *f.dst, err = splitPath(f.field, p); err != nil {
			return nil, err
		}
	}
	for name, p := range m.MetricFields {
		if name == "" || !utf8.ValidString(name) {
			return nil, fmt.Errorf("mapping: metric_fields: invalid metric name %q", name)
		}
		spec, err := splitPath("metric_fields."+name, p)
		if err != nil {
			return nil, err
		}
		out.metricFields = append(out.metricFields, metricSpec{name, spec})
	}
	slices.SortFunc(out.metricFields, func(a, b metricSpec) int {
		return strings.Compare(a.name, b.name)
	})
	return &out, nil
}

func splitPath(field, p string) (pathSpec, error) {
	keys := strings.Split(p, ".")
	if slices.Contains(keys, "") {
		return pathSpec{}, fmt.Errorf("mapping: %s: path %q has an empty segment", field, p)
	}
	return pathSpec{text: p, keys: keys}, nil
}

// plan is a mapping compiled against one schema: each step knows whether to
// unwrap a union. The plan for JSON never unwraps. A plan is read-only once
// built and shared by concurrent decodes.
type plan struct {
	root                                                     unwrap
	id, eventTime, source, entity, text, metrics, attributes path
	metricFields                                             []metricPath
}

type path struct {
	text   string
	steps  []step
	values unwrap // for a map at the end of the path: how to unwrap its values
}

type step struct {
	key string
	u   unwrap
}

type metricPath struct {
	name string
	path path
}

// plan compiles the mapping against the schema whose type is root, or for
// JSON when root is nil.
func (m *mapping) plan(root *avroType) *plan {
	var p plan
	var types []*avroType
	if root != nil {
		p.root, types = settle([]*avroType{root})
	}
	compile := func(s pathSpec) path {
		out := path{text: s.text, steps: make([]step, len(s.keys))}
		at := types
		for i, k := range s.keys {
			out.steps[i].key = k
			out.steps[i].u, at = settle(child(at, k))
		}
		var values []*avroType
		for _, t := range at {
			if t.kind == "map" {
				values = append(values, t.values)
			}
		}
		out.values, _ = settle(values)
		return out
	}
	p.id = compile(m.id)
	p.eventTime = compile(m.eventTime)
	p.source = compile(m.source)
	p.entity = compile(m.entity)
	p.text = compile(m.text)
	p.metrics = compile(m.metrics)
	p.attributes = compile(m.attributes)
	for _, mf := range m.metricFields {
		p.metricFields = append(p.metricFields, metricPath{mf.name, compile(mf.path)})
	}
	return &p
}

// lookup follows p from v. It returns the value and true when there is a
// non-null one; a missing key or a null on the way means missing. Stepping
// into anything but a record or map is a mapping error.
func lookup(v any, p *path) (any, bool, error) {
	for i := range p.steps {
		s := &p.steps[i]
		m, ok := v.(map[string]any)
		if !ok {
			if v == nil {
				return nil, false, nil
			}
			where := "the value"
			if i > 0 {
				where = strconv.Quote(strings.Join(keysOf(p.steps[:i]), "."))
			}
			return nil, false, permanent(ReasonMapping,
				"path %q: %s is %s, want a record or map", p.text, where, kindOf(v))
		}
		if v, ok = m[s.key]; !ok {
			return nil, false, nil
		}
		v = s.u.apply(v)
	}
	return v, v != nil, nil
}

func keysOf(steps []step) []string {
	keys := make([]string, len(steps))
	for i, s := range steps {
		keys[i] = s.key
	}
	return keys
}

// event maps a decoded value onto an Event. Strings are checked for valid
// UTF-8 when checkUTF8 is set (Avro; JSON input is checked whole before).
func (p *plan) event(v any, meta Meta, checkUTF8 bool) (record.Event, error) {
	var ev record.Event
	v = p.root.apply(v)

	// The entity first: without it the record is of no use at all.
	x, ok, err := lookup(v, &p.entity)
	if err != nil {
		return ev, err
	}
	if !ok {
		return ev, permanent(ReasonMissingEntity, "path %q is missing or null", p.entity.text)
	}
	if ev.Entity, err = scalar(x, &p.entity, checkUTF8); err != nil {
		return ev, err
	}
	if ev.Entity == "" {
		return ev, permanent(ReasonMissingEntity, "path %q is empty", p.entity.text)
	}

	if ev.ID, err = optionalScalar(v, &p.id, checkUTF8); err != nil {
		return ev, err
	}
	if ev.ID == "" {
		ev.ID = defaultID(meta)
	}
	if ev.Source, err = optionalScalar(v, &p.source, checkUTF8); err != nil {
		return ev, err
	}
	if ev.Source == "" {
		ev.Source = meta.Topic
	}
	if ev.Time, err = p.eventTime.readTime(v, meta.Timestamp); err != nil {
		return ev, err
	}
	if ev.Text, err = p.text.readText(v, checkUTF8); err != nil {
		return ev, err
	}
	if ev.Metrics, err = p.metricsOf(v, checkUTF8); err != nil {
		return ev, err
	}
	if ev.Attributes, err = p.attributes.readAttributes(v, checkUTF8); err != nil {
		return ev, err
	}
	return ev, nil
}

func defaultID(m Meta) string {
	b := make([]byte, 0, len(m.Topic)+24)
	b = append(b, m.Topic...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(m.Partition), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, m.Offset, 10)
	return string(b)
}

// scalar renders a string or a number found at p as a string.
func scalar(x any, p *path, checkUTF8 bool) (string, error) {
	var s string
	switch x := x.(type) {
	case string:
		if checkUTF8 && !utf8.ValidString(x) {
			return "", permanent(ReasonInvalidUTF8, "path %q is not valid UTF-8", p.text)
		}
		return x, nil
	case json.Number:
		s = string(x)
	case int32:
		s = strconv.FormatInt(int64(x), 10)
	case int64:
		s = strconv.FormatInt(x, 10)
	case float32, float64:
		f := toFloat(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", permanent(ReasonMapping, "path %q is %v, want a string or a finite number",
				p.text, f)
		}
		s = formatFloat(f)
	default:
		return "", permanent(ReasonMapping, "path %q is %s, want a string or a number",
			p.text, kindOf(x))
	}
	return s, nil
}

func optionalScalar(v any, p *path, checkUTF8 bool) (string, error) {
	x, ok, err := lookup(v, p)
	if !ok || err != nil {
		return "", err
	}
	return scalar(x, p, checkUTF8)
}

func (p *path) readTime(v any, fallback time.Time) (time.Time, error) {
	x, ok, err := lookup(v, p)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return fallback.UTC().Truncate(time.Millisecond), nil
	}
	var t time.Time
	switch x := x.(type) {
	case time.Time:
		t = x
	case string:
		if t, err = time.Parse(time.RFC3339Nano, x); err != nil {
			return t, permanent(ReasonInvalidTime, "path %q: %q is not an RFC 3339 time",
				p.text, x)
		}
	case int32:
		t = time.UnixMilli(int64(x))
	case int64:
		t = time.UnixMilli(x)
	case json.Number:
		ms, err := strconv.ParseInt(string(x), 10, 64)
		if err == nil {
			t = time.UnixMilli(ms)
			break
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || !inMillisRange(f) {
			return t, permanent(ReasonInvalidTime,
				"path %q: %s is not epoch milliseconds of the years 1 to 9999", p.text, x)
		}
		t = time.UnixMilli(int64(f))
	case float32, float64:
		f := toFloat(x)
		if !inMillisRange(f) {
			return t, permanent(ReasonInvalidTime,
				"path %q: %v is not epoch milliseconds of the years 1 to 9999", p.text, f)
		}
		t = time.UnixMilli(int64(f))
	default:
		return t, permanent(ReasonInvalidTime,
			"path %q is %s, want a timestamp, an RFC 3339 string or epoch milliseconds",
			p.text, kindOf(x))
	}
	if t.Before(minEventTime) || t.After(maxEventTime) {
		return time.Time{}, permanent(ReasonInvalidTime,
			"path %q: %s is outside the years 1 to 9999", p.text, t.UTC().Format(time.RFC3339))
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

func inMillisRange(f float64) bool {
	return f >= float64(minEventTime.UnixMilli()) && f <= float64(maxEventTime.UnixMilli())
}

func (p *path) readText(v any, checkUTF8 bool) (*string, error) {
	x, ok, err := lookup(v, p)
	if !ok || err != nil {
		return nil, err
	}
	s, isString := x.(string)
	if !isString {
		return nil, permanent(ReasonMapping, "path %q is %s, want a string", p.text, kindOf(x))
	}
	if checkUTF8 && !utf8.ValidString(s) {
		return nil, permanent(ReasonInvalidUTF8, "path %q is not valid UTF-8", p.text)
	}
	return &s, nil
}

// metricsOf reads the metrics map and then the single metric fields, which
// win over a map entry of the same name. No metrics at all gives nil.
func (p *plan) metricsOf(v any, checkUTF8 bool) (record.Metrics, error) {
	var out map[string]float64
	x, ok, err := lookup(v, &p.metrics)
	if err != nil {
		return nil, err
	}
	if ok {
		m, isMap := x.(map[string]any)
		if !isMap {
			return nil, permanent(ReasonMapping, "path %q is %s, want a map of numbers",
				p.metrics.text, kindOf(x))
		}
		if len(m) > 0 {
			out = make(map[string]float64, len(m)+len(p.metricFields))
		}
		for k, x := range m {
			if checkUTF8 && !utf8.ValidString(k) {
				return nil, permanent(ReasonInvalidUTF8,
					"path %q has a metric name that is not valid UTF-8", p.metrics.text)
			}
			if out[k], err = metric(p.metrics.values.apply(x), k, &p.metrics); err != nil {
				return nil, err
			}
		}
	}
	for i := range p.metricFields {
		mf := &p.metricFields[i]
		x, ok, err := lookup(v, &mf.path)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		f, err := metric(x, mf.name, &mf.path)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make(map[string]float64, len(p.metricFields))
		}
		out[mf.name] = f
	}
	return record.MetricsOf(out), nil
}

func metric(x any, name string, p *path) (float64, error) {
	var f float64
	switch x := x.(type) {
	case float64:
		f = x
	case float32, int32, int64:
		f = toFloat(x)
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return 0, permanent(ReasonInvalidMetric, "metric %q (path %q): %s is out of range",
				name, p.text, x)
		}
	default:
		return 0, permanent(ReasonInvalidMetric, "metric %q (path %q) is %s, want a number",
			name, p.text, kindOf(x))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, permanent(ReasonInvalidMetric, "metric %q (path %q) is %v, want a finite number",
			name, p.text, f)
	}
	return f, nil
}

// readAttributes reads a map and renders each non-null value as a string:
// numbers and booleans as written, timestamps in RFC 3339, records, maps
// and arrays as JSON. No attributes at all gives nil.
func (p *path) readAttributes(v any, checkUTF8 bool) (record.Attributes, error) {
	x, ok, err := lookup(v, p)
	if !ok || err != nil {
		return nil, err
	}
	m, isMap := x.(map[string]any)
	if !isMap {
		return nil, permanent(ReasonMapping, "path %q is %s, want a map", p.text, kindOf(x))
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if checkUTF8 && !utf8.ValidString(k) {
			return nil, permanent(ReasonInvalidUTF8,
				"path %q has a key that is not valid UTF-8", p.text)
		}
		x = p.values.apply(x)
		var s string
		switch x := x.(type) {
		case nil:
			continue
		case string:
			if checkUTF8 && !utf8.ValidString(x) {
				return nil, permanent(ReasonInvalidUTF8,
					"path %q: the value of %q is not valid UTF-8", p.text, k)
			}
			s = x
		case json.Number:
			s = string(x)
		case bool:
			s = strconv.FormatBool(x)
		case int32:
			s = strconv.FormatInt(int64(x), 10)
		case int64:
			s = strconv.FormatInt(x, 10)
		case float32, float64:
			s = formatFloat(toFloat(x))
		case time.Time:
			s = x.UTC().Format(time.RFC3339Nano)
		default:
			b, err := json.Marshal(x)
			if err != nil {
				return nil, permanent(ReasonMapping, "path %q: the value of %q (%s): %v",
					p.text, k, kindOf(x), err)
			}
			s = string(b)
		}
		out[k] = s
	}
	return record.AttributesOf(out), nil
}

// toFloat converts the numeric kinds goavro decodes to float64; it is only
// called with one of them.
func toFloat(x any) float64 {
	switch x := x.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	}
	return math.NaN()
}

// formatFloat writes f the way JSON would: plain digits for ordinary
// magnitudes, an exponent for very large or small ones.
func formatFloat(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// kindOf names the kind of a decoded value for messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int32, int64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "a record or map"
	case time.Time:
		return "a timestamp"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("a %T", v)
}
