package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Session timeout bounds accepted by Validate. Brokers narrow them further
// with group.min.session.timeout.ms and group.max.session.timeout.ms.
const (
	minSessionTimeout = time.Second
	maxSessionTimeout = time.Hour
)

// problems collects what Validate finds, one error each.
type problems []error

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format, args...))
}

// Validate returns every problem of c joined with errors.Join, or nil. Each
// problem names the field by its yaml path, the bad value (never a password)
// and what is allowed. Validate expects password files to have been read
// already, as Load does.
func (c Config) Validate() error {
	var p problems
	if strings.TrimSpace(c.WorkerID) == "" {
		p.add("worker_id is empty; want a name unique in the consumer group")
	}
	c.Kafka.validate(&p)
	c.SchemaRegistry.validate(&p)
	c.Input.validate(&p)
	c.Output.validate(&p, c.Input.Topics)
	c.Classifier.validate(&p)
	c.Anomaly.validate(&p)
	c.Explainer.validate(&p, c.Output)
	for i, r := range c.Rules {
		r.validate(&p, i)
	}
	c.HTTP.validate(&p)
	c.Log.validate(&p)
	return errors.Join(p...)
}

func (k Kafka) validate(p *problems) {
	if len(k.Brokers) == 0 {
		p.add("kafka.brokers is empty; want at least one host:port")
	}
	for i, b := range k.Brokers {
		if strings.TrimSpace(b) == "" {
			p.add("kafka.brokers[%d] is empty; want host:port", i)
		}
	}
	if k.SessionTimeout < minSessionTimeout || k.SessionTimeout > maxSessionTimeout {
		p.add("kafka.session_timeout %s is out of range; want 1s to 1h", k.SessionTimeout)
	}
	positiveDuration(p, "kafka.rebalance_timeout", k.RebalanceTimeout)
	positiveDuration(p, "kafka.transaction_timeout", k.TransactionTimeout)
	k.TLS.validate(p)
	k.SASL.validate(p)
}

func (t TLS) validate(p *problems) {
	if !t.Enabled {
		for _, f := range []struct{ name, value string }{
			{"ca_file", t.CAFile},
			{"cert_file", t.CertFile},
			{"key_file", t.KeyFile},
			{"server_name", t.ServerName},
		} {
			if f.value != "" {
				p.add("kafka.tls.%s is set but kafka.tls.enabled is false; "+
					"want enabled: true, or %s empty", f.name, f.name)
			}
		}
		if t.InsecureSkipVerify {
			p.add("kafka.tls.insecure_skip_verify is true but kafka.tls.enabled is false; " +
				"want enabled: true, or insecure_skip_verify false")
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		p.add("kafka.tls.key_file is empty but cert_file is set; want both or neither")
	case t.CertFile == "" && t.KeyFile != "":
		p.add("kafka.tls.cert_file is empty but key_file is set; want both or neither")
	}
}

func (s SASL) validate(p *problems) {
	switch s.Mechanism {
	case "":
		if s.Username != "" || s.Password != "" {
			p.add("kafka.sasl.mechanism is empty but credentials are set; want one of " +
				"PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, or no username and password")
		}
		return
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
	default:
		p.add("kafka.sasl.mechanism %q is not supported; "+
			"want PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, or empty for none", s.Mechanism)
		return
	}
	if s.Username == "" {
		p.add("kafka.sasl.username is empty; want a user for mechanism %s", s.Mechanism)
	}
	if s.Password == "" {
		p.add("kafka.sasl.password is empty; want it set, by the file, password_file "+
			"or TRIAGE_KAFKA_SASL_PASSWORD, for mechanism %s", s.Mechanism)
	}
}

func (r SchemaRegistry) validate(p *problems) {
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("schema_registry.url %q is not an http or https URL; "+
				"want e.g. http://127.0.0.1:8081, or empty for none", redactURL(r.URL))
		}
	}
	if (r.Username == "") != (r.Password == "") {
		p.add("schema_registry.username and password must be set together; " +
			"want both or neither")
	}
	positiveDuration(p, "schema_registry.timeout", r.Timeout)
}

func (in Input) validate(p *problems) {
	if len(in.Topics) == 0 {
		p.add("input.topics is empty; want at least one topic")
	}
	for i, t := range in.Topics {
		topicName(p, fmt.Sprintf("input.topics[%d]", i), t)
	}
	if strings.TrimSpace(in.Group) == "" {
		p.add("input.group is empty; want a consumer group name")
	}
	if in.StartOffset != StartEarliest && in.StartOffset != StartLatest {
		p.add("input.start_offset %q is not supported; want earliest or latest",
			in.StartOffset)
	}
	if in.MaxRecordBytes <= 0 || in.MaxRecordBytes > MaxRecordBytesLimit {
		p.add("input.max_record_bytes %d is out of range; want 1 to %d",
			in.MaxRecordBytes, MaxRecordBytesLimit)
	}
	positiveInt(p, "input.max_poll_records", in.MaxPollRecords)
	for i, f := range in.SchemaFiles {
		if strings.TrimSpace(f) == "" {
			p.add("input.schema_files[%d] is empty; want the path of an .avsc file", i)
		}
	}

	m := in.Mapping
	if strings.TrimSpace(m.Entity) == "" {
		p.add("input.mapping.entity is empty; want the dotted path of the entity field")
	}
	names := make([]string, 0, len(m.MetricFields))
	for name := range m.MetricFields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.TrimSpace(name) == "" {
			p.add("input.mapping.metric_fields has an empty metric name; want a name")
		}
		if strings.TrimSpace(m.MetricFields[name]) == "" {
			p.add("input.mapping.metric_fields[%q] has an empty path; want a dotted path",
				name)
		}
	}
}

func (o Output) validate(p *problems, inputs []string) {
	topics := []struct{ field, name string }{
		{"output.enriched_topic", o.EnrichedTopic},
		{"output.escalation_topic", o.EscalationTopic},
		{"output.dead_letter_topic", o.DeadLetterTopic},
		{"output.state_topic", o.StateTopic},
	}
	for i, t := range topics {
		if !topicName(p, t.field, t.name) {
			continue
		}
		for _, earlier := range topics[:i] {
			if earlier.name == t.name {
				p.add("%s %q is also %s; want distinct output topics",
					t.field, t.name, earlier.field)
			}
		}
		if slices.Contains(inputs, t.name) {
			p.add("%s %q is also an input topic; want a topic the worker does not read",
				t.field, t.name)
		}
	}
	if o.Delivery != ExactlyOnce && o.Delivery != AtLeastOnce {
		p.add("output.delivery %q is not supported; want exactly_once or at_least_once",
			o.Delivery)
	}
	if o.RecentEvents < 0 {
		p.add("output.recent_events %d is negative; want 0 or more", o.RecentEvents)
	}
}

func (r Rule) validate(p *problems, i int) {
	if strings.TrimSpace(r.Metric) == "" {
		p.add("rules[%d].metric is empty; want a metric name", i)
	}
	switch {
	case r.Above == nil && r.Below == nil:
		p.add("rules[%d] (metric %q) sets neither above nor below; want exactly one",
			i, r.Metric)
	case r.Above != nil && r.Below != nil:
		p.add("rules[%d] (metric %q) sets both above and below; want exactly one",
			i, r.Metric)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"above", r.Above}, {"below", r.Below}} {
		if f.v != nil && (math.IsNaN(*f.v) || math.IsInf(*f.v, 0)) {
			p.add("rules[%d].%s %v is not finite; want a number", i, f.name, *f.v)
		}
	}
}

func (h HTTP) validate(p *problems) {
	if h.Listen == "" {
		return
	}
	_, port, err := net.SplitHostPort(h.Listen)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = errors.New("port out of range")
		}
	}
	if err != nil {
		p.add("http.listen %q is not host:port (%v); want e.g. 127.0.0.1:9464, "+
			"or empty to disable", h.Listen, err)
	}
}

func (l Log) validate(p *problems) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level %q is not supported; want debug, info, warn or error", l.Level)
	}
	switch l.Format {
	case FormatJSON, FormatConsole, FormatAuto:
	default:
		p.add("log.format %q is not supported; want json, console or auto", l.Format)
	}
}

func positiveDuration(p *problems, field string, d time.Duration) {
	if d <= 0 {
		p.add("%s %s is not positive; want a duration such as 30s", field, d)
	}
}

func positiveInt(p *problems, field string, n int) {
	if n <= 0 {
		p.add("%s %d is not positive; want 1 or more", field, n)
	}
}

// topicName reports whether name is a legal Kafka topic name, adding a
// problem for field if it is not.
func topicName(p *problems, field, name string) bool {
	if name == "" {
		p.add("%s is empty; want a topic name", field)
		return false
	}
	ok := len(name) <= 249 && name != "." && name != ".."
	for _, r := range name {
		if !ok {
			break
		}
		ok = r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '.' || r == '_' || r == '-'
	}
	if !ok {
		p.add("%s %q is not a valid topic name; "+
			"want 1 to 249 of a-z A-Z 0-9 . _ - (not . or ..)", field, name)
	}
	return ok
}

func (a Anomaly) validate(p *problems) {
	if !(a.Threshold > 0 && a.Threshold <= 1) {
		p.add("anomaly.threshold %v is out of range; want a score in (0, 1]", a.Threshold)
	}
	if a.Warmup < 1 {
		p.add("anomaly.warmup %d is too small; want at least 1 point", a.Warmup)
	}
	if a.Hold < 0 {
		p.add("anomaly.hold %d is negative; want 0 or more points", a.Hold)
	}
	if a.Lateness <= 0 {
		p.add("anomaly.lateness %v is not positive; want a duration such as 1h", a.Lateness)
	}
	if a.MaxMemoryBytes < 1<<20 {
		p.add("anomaly.max_memory_bytes %d is under 1 MiB; want at least 1048576",
			a.MaxMemoryBytes)
	}
	for i, m := range a.Metrics {
		if strings.TrimSpace(m) == "" {
			p.add("anomaly.metrics[%d] is empty; want a metric name", i)
		}
	}
	if a.SurgeBucket < time.Second {
		p.add("anomaly.surge_bucket %v is under 1s; want a duration such as 1m", a.SurgeBucket)
	}
	if !(a.SurgeSigmas > 0) {
		p.add("anomaly.surge_sigmas %v is not positive; want a number such as 4", a.SurgeSigmas)
	}
}

func (c Classifier) validate(p *problems) {
	if c.ReloadInterval < 0 {
		p.add("classifier.reload_interval %v is negative; want 0 (never) or a duration",
			c.ReloadInterval)
	}
	if c.MaxTextBytes < 1 {
		p.add("classifier.max_text_bytes %d is too small; want at least 1", c.MaxTextBytes)
	}
	if c.Threshold < 0 || c.Threshold >= 1 {
		p.add("classifier.threshold %v is out of range; want 0 (the model's) or a "+
			"confidence in (0, 1)", c.Threshold)
	}
}

func (e Explainer) validate(p *problems, o Output) {
	if strings.TrimSpace(e.Group) == "" {
		p.add("explainer.group is empty; want a consumer group name")
	}
	for _, t := range []struct{ field, name string }{
		{"explainer.explanations_topic", e.ExplanationsTopic},
		{"explainer.state_topic", e.StateTopic},
	} {
		if !topicName(p, t.field, t.name) {
			continue
		}
		if t.name == o.EscalationTopic || t.name == o.EnrichedTopic ||
			t.name == o.DeadLetterTopic || t.name == o.StateTopic {
			p.add("%s %q is also a worker output topic; want a topic of its own", t.field, t.name)
		}
	}
	if e.ExplanationsTopic == e.StateTopic {
		p.add("explainer.state_topic %q is also explainer.explanations_topic; want distinct topics",
			e.StateTopic)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"explainer.window", e.Window},
		{"explainer.debounce", e.Debounce},
		{"explainer.update_interval", e.UpdateInterval},
		{"explainer.model.timeout", e.Model.Timeout},
	} {
		if d.v <= 0 {
			p.add("%s %v is not positive; want a duration such as 10s", d.field, d.v)
		}
	}
	if e.PromptMaxTokens < 500 {
		p.add("explainer.prompt_max_tokens %d is under 500; want room for the instructions",
			e.PromptMaxTokens)
	}
	m := e.Model
	if m.BaseURL != "" {
		if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" {
			p.add("explainer.model.base_url %q is not an http or https URL", m.BaseURL)
		}
		if strings.TrimSpace(m.Name) == "" {
			p.add("explainer.model.name is empty; want the model to ask, with a base_url")
		}
	}
	switch m.Output {
	case "json_schema", "json_object", "none":
	default:
		p.add("explainer.model.output %q is not supported; want json_schema, json_object or none",
			m.Output)
	}
	if m.MaxAttempts < 1 || m.MaxConcurrent < 1 || m.MaxOutputTokens < 1 {
		p.add("explainer.model: max_attempts %d, max_concurrent %d and max_output_tokens %d "+
			"must each be at least 1", m.MaxAttempts, m.MaxConcurrent, m.MaxOutputTokens)
	}
	b := e.Budget
	if b.TokensPerMinute < 0 || b.TokensPerDay < 0 || b.CostPerDayUSD < 0 ||
		b.InputPricePer1K < 0 || b.OutputPricePer1K < 0 {
		p.add("explainer.budget has a negative limit or price; want 0 (none) or more")
	}
}
