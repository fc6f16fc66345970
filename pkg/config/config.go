// Package config defines the worker's configuration: one YAML file, then
// TRIAGE_* environment variables over it, then defaults for what neither
// set. It owns loading, defaults and validation; it does not open
// connections (package kafkaclient turns Kafka settings into client options).
//
// Every scalar, list and duration field has an environment variable named
// by its yaml keys joined with "_", upper-cased and prefixed with TRIAGE_:
// kafka.sasl.password is TRIAGE_KAFKA_SASL_PASSWORD. Lists are
// comma-separated and durations use Go syntax (45s, 1m30s). Rules,
// input.mapping.metric_fields and explainer.redact_patterns can only be set
// in the file.
package config

import "time"

// Delivery modes of the worker's consume-transform-produce loop.
const (
	ExactlyOnce = "exactly_once"
	AtLeastOnce = "at_least_once"
)

// Start offsets for partitions the group has not committed.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// SASL mechanisms.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// Log formats. FormatAuto is console on a terminal and JSON elsewhere.
const (
	FormatJSON    = "json"
	FormatConsole = "console"
	FormatAuto    = "auto"
)

// MaxRecordBytesLimit is the largest allowed input.max_record_bytes: a
// record that size, copied to the dead-letter topic with its headers, still
// fits in one produce request of the default size (1,000,000 bytes).
const MaxRecordBytesLimit = 900_000

// Config is the whole configuration of a triage worker.
type Config struct {
	// WorkerID names this worker in provenance, logs and its transactional
	// id. It must be unique in the consumer group and stable across restarts
	// of the same worker. Default: the host name; empty after loading also
	// means the host name.
	WorkerID string `yaml:"worker_id"`

	Kafka          Kafka          `yaml:"kafka"`
	SchemaRegistry SchemaRegistry `yaml:"schema_registry"`
	Input          Input          `yaml:"input"`
	Output         Output         `yaml:"output"`
	Classifier     Classifier     `yaml:"classifier"`
	Anomaly        Anomaly        `yaml:"anomaly"`
	Explainer      Explainer      `yaml:"explainer"`
	Rules          []Rule         `yaml:"rules"`
	HTTP           HTTP           `yaml:"http"`
	Log            Log            `yaml:"log"`
}

// Kafka holds the connection and group settings.
type Kafka struct {
	// Brokers to bootstrap from. Default: [127.0.0.1:9092].
	Brokers []string `yaml:"brokers"`
	// ClientID sent to brokers. Default: triage.
	ClientID string `yaml:"client_id"`
	TLS      TLS    `yaml:"tls"`
	SASL     SASL   `yaml:"sasl"`
	// SessionTimeout of the group member. Default: 45s.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout of the group member. Default: 60s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// InstanceID turns on static group membership: a restarted worker with
	// the same instance id takes its partitions back without a rebalance.
	// Default: empty (dynamic membership).
	InstanceID string `yaml:"instance_id"`
	// TransactionTimeout bounds an open transaction. Default: 60s.
	TransactionTimeout time.Duration `yaml:"transaction_timeout"`
}

// TLS settings for the Kafka connection.
type TLS struct {
	// Enabled turns TLS on. Default: false.
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of roots; empty uses the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks. Default: false.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASL settings for the Kafka connection.
type SASL struct {
	// Mechanism is one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, or empty
	// for no SASL. Default: empty.
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	// Password is best given by TRIAGE_KAFKA_SASL_PASSWORD or PasswordFile.
	Password string `yaml:"password"`
	// PasswordFile is read at load into Password, its trailing newline
	// trimmed. Setting both is an error.
	PasswordFile string `yaml:"password_file"`
}

// SchemaRegistry points at a Confluent-compatible schema registry. With a
// URL set, Confluent wire-format input can be decoded and output is written
// in the Confluent wire format; without one, output is Avro single-object
// encoding.
type SchemaRegistry struct {
	// URL of the registry, http or https. Default: empty (no registry).
	URL string `yaml:"url"`
	// Username and Password for HTTP basic auth; both or neither.
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// PasswordFile is read at load into Password, like SASL.PasswordFile.
	PasswordFile string `yaml:"password_file"`
	// Timeout of one registry request. Default: 5s.
	Timeout time.Duration `yaml:"timeout"`
}

// Input says what the worker consumes and how to read it.
type Input struct {
	// Topics to consume. Default: [events].
	Topics []string `yaml:"topics"`
	// Group is the consumer group. Default: triage-worker.
	Group string `yaml:"group"`
	// StartOffset for partitions the group has no commit for: earliest or
	// latest. Default: earliest.
	StartOffset string `yaml:"start_offset"`
	// MaxRecordBytes is the largest record value accepted; larger ones go
	// to the dead-letter topic. At most MaxRecordBytesLimit. Default: 524288.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxPollRecords bounds one batch, and so one transaction. Default: 1000.
	MaxPollRecords int `yaml:"max_poll_records"`
	// SchemaFiles are extra Avro schemas (.avsc) the worker knows for
	// single-object encoded input, beside the built-in ones.
	SchemaFiles []string `yaml:"schema_files"`
	// Mapping tells where the Event's fields are in the input record.
	Mapping Mapping `yaml:"mapping"`
}

// Mapping names, as dotted paths into the decoded record, where each field
// of an Event is found. The defaults read triage's own Event schema.
type Mapping struct {
	// ID path. Default: id. A record without one gets topic-partition-offset.
	ID string `yaml:"id"`
	// EventTime path; Avro timestamp-millis, an RFC 3339 string or epoch
	// milliseconds. Default: event_time. Missing: the Kafka record time.
	EventTime string `yaml:"event_time"`
	// Source path. Default: source. Missing: the topic name.
	Source string `yaml:"source"`
	// Entity path (required in the record). Default: entity.
	Entity string `yaml:"entity"`
	// Text path. Default: text.
	Text string `yaml:"text"`
	// Metrics is the path of a map of numbers. Default: metrics.
	Metrics string `yaml:"metrics"`
	// MetricFields adds single numeric fields as metrics: name -> path.
	// File only: it has no environment variable. Default: none.
	MetricFields map[string]string `yaml:"metric_fields"`
	// Attributes is the path of a map of strings. Default: attributes.
	Attributes string `yaml:"attributes"`
}

// Output names the topics the worker writes.
type Output struct {
	// EnrichedTopic gets every decodable record. Default: events.enriched.
	EnrichedTopic string `yaml:"enriched_topic"`
	// EscalationTopic gets flagged records too. Default: events.escalations.
	EscalationTopic string `yaml:"escalation_topic"`
	// DeadLetterTopic gets records that can never be processed, with their
	// original bytes. Default: events.deadletter.
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	// Delivery is exactly_once or at_least_once. Default: exactly_once.
	Delivery string `yaml:"delivery"`
	// RecentEvents is how many earlier events of the entity an escalation
	// carries. Default: 5.
	RecentEvents int `yaml:"recent_events"`
	// StateTopic keeps the detectors' state by input partition, written in
	// the transactions of the outputs it reflects and read back when a
	// partition is assigned. Create it with cleanup.policy=compact and as
	// many partitions as the input topic, and do not add partitions to it
	// later: the state of input partition p is in its partition p modulo
	// its count. Default: events.state.
	StateTopic string `yaml:"state_topic"`
}

// Classifier is the text classifier the worker runs on every record's text:
// a model file written by "triage train".
type Classifier struct {
	// Model is the model file; empty runs no classifier. Default: empty.
	Model string `yaml:"model"`
	// ReloadInterval is how often the model file is checked; a changed
	// file is loaded and swapped in without a restart, records in flight
	// finishing on the old model. 0 never reloads. Default: 30s.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// MaxTextBytes is the length past which a text is cut before it is
	// classified (counted in a metric). Default: 4096.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// Threshold, when above 0, replaces the confidence threshold stored in
	// the model: records below it are escalated as "low confidence".
	// Default: 0 (the model's).
	Threshold float64 `yaml:"threshold"`
}

// Anomaly configures the online anomaly detectors: one per entity and
// metric, learning from the records' event time.
type Anomaly struct {
	// Enabled turns the detectors on. Default: true.
	Enabled bool `yaml:"enabled"`
	// Metrics, when set, are the only metrics watched. Default: all.
	Metrics []string `yaml:"metrics"`
	// Threshold is the score in (0, 1] at which a metric flags its record.
	// Default: 0.3.
	Threshold float64 `yaml:"threshold"`
	// Warmup is how many points a series learns before it may flag.
	// Default: 150.
	Warmup int `yaml:"warmup"`
	// Hold is how many points after a flag a series flags again only for a
	// score of 1, so that one incident raises one alarm. Default: 150.
	Hold int `yaml:"hold"`
	// Lateness is how far behind its partition's latest event time a record
	// may be and still be learned; later ones are tagged without changing
	// the detectors. Default: 1h.
	Lateness time.Duration `yaml:"lateness"`
	// MaxMemoryBytes bounds the detectors' memory; the least recently
	// updated series is forgotten first. Default: 268435456 (256 MiB).
	MaxMemoryBytes int64 `yaml:"max_memory_bytes"`
	// SurgeBucket is the event-time bucket in which the records of each
	// classifier label are counted to find surges; with a classifier only.
	// Default: 1m.
	SurgeBucket time.Duration `yaml:"surge_bucket"`
	// SurgeSigmas is how many Poisson deviations above its expected count
	// a bucket must be to be a surge. Default: 4.
	SurgeSigmas float64 `yaml:"surge_sigmas"`
}

// Rule flags a record whose metric crosses a threshold. Exactly one of
// Above and Below is set. Rules are set in the file only. Default: none.
type Rule struct {
	Metric string   `yaml:"metric"`
	Above  *float64 `yaml:"above"`
	Below  *float64 `yaml:"below"`
}

// HTTP is the listener for /metrics, /healthz and /readyz.
type HTTP struct {
	// Listen address; empty disables it. Default: 127.0.0.1:9464.
	Listen string `yaml:"listen"`
	// Token, when set, is the bearer token /metrics and /readyz require
	// (Authorization: Bearer TOKEN), on the worker's and the explainer's
	// listeners; /healthz stays open for liveness probes. Best given by
	// TRIAGE_HTTP_TOKEN or TokenFile. Default: empty (no token).
	Token string `yaml:"token"`
	// TokenFile is read at load into Token, like SASL.PasswordFile.
	TokenFile string `yaml:"token_file"`
}

// Log settings.
type Log struct {
	// Level: debug, info, warn or error. Default: info.
	Level string `yaml:"level"`
	// Format: json, console, or auto (console on a terminal). Default: auto.
	Format string `yaml:"format"`
}

// Explainer configures "triage explainer", which reads the escalation topic
// (output.escalation_topic), groups escalations into incidents and writes
// one explanation per incident, from a model or from its heuristic.
type Explainer struct {
	// Group is the explainer's consumer group. Default: triage-explainer.
	Group string `yaml:"group"`
	// ExplanationsTopic gets the explanations. Default: events.explanations.
	ExplanationsTopic string `yaml:"explanations_topic"`
	// StateTopic keeps the open incidents by escalation partition, like
	// output.state_topic: compacted, as many partitions as the escalation
	// topic. Default: events.explainer-state.
	StateTopic string `yaml:"state_topic"`
	// HTTPListen is the explainer's /metrics, /healthz and /readyz
	// listener; empty disables it. Default: 127.0.0.1:9465.
	HTTPListen string `yaml:"http_listen"`
	// Window is the event-time gap within which an escalation joins an
	// incident of its entity, or of entities that moved the same way.
	// Default: 5m.
	Window time.Duration `yaml:"window"`
	// Debounce is how long an incident waits after its first escalation
	// before it is explained, so one explanation covers the burst.
	// Default: 10s.
	Debounce time.Duration `yaml:"debounce"`
	// UpdateInterval is the least time between two explanations of one
	// incident that goes on. Default: 5m.
	UpdateInterval time.Duration `yaml:"update_interval"`
	// PromptMaxTokens bounds the prompt; what does not fit is summarised.
	// Default: 3000.
	PromptMaxTokens int    `yaml:"prompt_max_tokens"`
	Model           Model  `yaml:"model"`
	Budget          Budget `yaml:"budget"`
	// RedactPatterns adds placeholder types (upper case, such as
	// CUSTOMER_ID) and the regular expressions they replace to the built-in
	// redaction of emails, phones, card numbers, IBANs and IP addresses.
	// File only. Default: none.
	RedactPatterns map[string]string `yaml:"redact_patterns"`
}

// Model is the OpenAI-compatible chat completions server the explainer
// asks. Without a base URL every explanation is the heuristic one.
type Model struct {
	// BaseURL is the API root before /chat/completions, such as
	// http://localhost:11434/v1 for Ollama. Default: empty (no model).
	BaseURL string `yaml:"base_url"`
	// Name of the model; required with a base URL.
	Name string `yaml:"name"`
	// APIKeyEnv names the environment variable with the API key; unset
	// means no key, as local servers need. Default: OPENAI_API_KEY.
	APIKeyEnv string `yaml:"api_key_env"`
	// APIKeyFile holds the API key; it wins over APIKeyEnv.
	APIKeyFile string `yaml:"api_key_file"`
	// Timeout of one attempt of one call. Default: 60s.
	Timeout time.Duration `yaml:"timeout"`
	// Output is how the answer is shaped: json_schema, json_object or none;
	// a server that refuses one is asked in the next. Default: json_schema.
	Output string `yaml:"output"`
	// MaxAttempts bounds the tries of one call (429, 5xx, timeouts).
	// Default: 3.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxConcurrent bounds the calls in flight. Default: 2.
	MaxConcurrent int `yaml:"max_concurrent"`
	// MaxOutputTokens bounds each answer. Default: 800.
	MaxOutputTokens int `yaml:"max_output_tokens"`
}

// Budget bounds what the model may spend; 0 is no limit.
type Budget struct {
	TokensPerMinute int64   `yaml:"tokens_per_minute"`
	TokensPerDay    int64   `yaml:"tokens_per_day"`
	CostPerDayUSD   float64 `yaml:"cost_per_day_usd"`
	// Prices in US dollars per 1000 tokens, to record each call's cost.
	InputPricePer1K  float64 `yaml:"input_price_per_1k"`
	OutputPricePer1K float64 `yaml:"output_price_per_1k"`
}
