package config

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// valid returns a Default config that passes Validate on any host.
func valid() Config {
	c := Default()
	c.WorkerID = "w1"
	return c
}

func ptr(f float64) *float64 { return &f }

func TestDefaultIsValid(t *testing.T) {
	if err := valid().Validate(); err != nil {
		t.Errorf("got %v, want no error", err)
	}
}

func TestValidateAcceptsOptionalSettings(t *testing.T) {
	for _, tt := range []struct {
		name   string
		modify func(*Config)
	}{
		{"SCRAM with credentials", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: SASLScramSHA256, Username: "u", Password: "p"}
		}},
		{"mutual TLS", func(c *Config) {
			c.Kafka.TLS = TLS{Enabled: true, CertFile: "c.pem", KeyFile: "k.pem"}
		}},
		{"a schema registry with basic auth", func(c *Config) {
			c.SchemaRegistry.URL = "https://sr.example:8081"
			c.SchemaRegistry.Username, c.SchemaRegistry.Password = "u", "p"
		}},
		{"the listener disabled", func(c *Config) { c.HTTP.Listen = "" }},
		{"the listener on all interfaces and a free port", func(c *Config) {
			c.HTTP.Listen = ":0"
		}},
		{"session timeout at both bounds", func(c *Config) {
			c.Kafka.SessionTimeout = time.Hour
		}},
		{"session timeout above rebalance timeout", func(c *Config) {
			c.Kafka.SessionTimeout, c.Kafka.RebalanceTimeout = time.Minute, time.Second
		}},
		{"rules with one threshold each", func(c *Config) {
			c.Rules = []Rule{{Metric: "a", Above: ptr(1)}, {Metric: "b", Below: ptr(-1)}}
		}},
		{"no recent events", func(c *Config) { c.Output.RecentEvents = 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("got %v, want no error", err)
			}
		})
	}
}

func TestValidateNamesFieldValueAndAllowed(t *testing.T) {
	for _, tt := range []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"empty worker id", func(c *Config) { c.WorkerID = " " },
			[]string{"worker_id is empty"}},
		{"no brokers", func(c *Config) { c.Kafka.Brokers = nil },
			[]string{"kafka.brokers is empty", "want at least one"}},
		{"an empty broker", func(c *Config) { c.Kafka.Brokers = []string{"a:1", ""} },
			[]string{"kafka.brokers[1] is empty"}},
		{"session timeout too short", func(c *Config) {
			c.Kafka.SessionTimeout = 500 * time.Millisecond
		}, []string{"kafka.session_timeout 500ms", "want 1s to 1h"}},
		{"session timeout too long", func(c *Config) {
			c.Kafka.SessionTimeout = 2 * time.Hour
		}, []string{"kafka.session_timeout 2h0m0s"}},
		{"zero rebalance timeout", func(c *Config) { c.Kafka.RebalanceTimeout = 0 },
			[]string{"kafka.rebalance_timeout 0s is not positive"}},
		{"negative transaction timeout", func(c *Config) {
			c.Kafka.TransactionTimeout = -time.Second
		}, []string{"kafka.transaction_timeout -1s is not positive"}},
		{"TLS files with TLS off", func(c *Config) { c.Kafka.TLS.CAFile = "ca.pem" },
			[]string{"kafka.tls.ca_file is set but kafka.tls.enabled is false"}},
		{"a cert without a key", func(c *Config) {
			c.Kafka.TLS = TLS{Enabled: true, CertFile: "c.pem"}
		}, []string{"kafka.tls.key_file is empty but cert_file is set"}},
		{"a key without a cert", func(c *Config) {
			c.Kafka.TLS = TLS{Enabled: true, KeyFile: "k.pem"}
		}, []string{"kafka.tls.cert_file is empty but key_file is set"}},
		{"an unknown mechanism", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: "GSSAPI", Username: "u", Password: "p"}
		}, []string{`kafka.sasl.mechanism "GSSAPI"`, "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"}},
		{"a mechanism without credentials", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: SASLPlain}
		}, []string{"kafka.sasl.username is empty", "kafka.sasl.password is empty"}},
		{"credentials without a mechanism", func(c *Config) {
			c.Kafka.SASL = SASL{Username: "u", Password: "p"}
		}, []string{"kafka.sasl.mechanism is empty but credentials are set"}},
		{"a registry URL without a scheme", func(c *Config) {
			c.SchemaRegistry.URL = "sr:8081"
		}, []string{`schema_registry.url "sr:8081"`}},
		{"a registry username without a password", func(c *Config) {
			c.SchemaRegistry.URL, c.SchemaRegistry.Username = "http://sr", "u"
		}, []string{"schema_registry.username and password must be set together"}},
		{"zero registry timeout", func(c *Config) { c.SchemaRegistry.Timeout = 0 },
			[]string{"schema_registry.timeout 0s"}},
		{"no input topics", func(c *Config) { c.Input.Topics = []string{} },
			[]string{"input.topics is empty"}},
		{"a bad input topic name", func(c *Config) { c.Input.Topics = []string{"a b"} },
			[]string{`input.topics[0] "a b" is not a valid topic name`}},
		{"no group", func(c *Config) { c.Input.Group = "" },
			[]string{"input.group is empty"}},
		{"an unknown start offset", func(c *Config) { c.Input.StartOffset = "oldest" },
			[]string{`input.start_offset "oldest"`, "want earliest or latest"}},
		{"zero max record bytes", func(c *Config) { c.Input.MaxRecordBytes = 0 },
			[]string{"input.max_record_bytes 0 is out of range; want 1 to 900000"}},
		{"max record bytes too large for a dead letter", func(c *Config) {
			c.Input.MaxRecordBytes = 1 << 20
		}, []string{"input.max_record_bytes 1048576 is out of range"}},
		{"negative max poll records", func(c *Config) { c.Input.MaxPollRecords = -1 },
			[]string{"input.max_poll_records -1 is not positive"}},
		{"an empty schema file", func(c *Config) { c.Input.SchemaFiles = []string{""} },
			[]string{"input.schema_files[0] is empty"}},
		{"no entity path", func(c *Config) { c.Input.Mapping.Entity = "" },
			[]string{"input.mapping.entity is empty"}},
		{"a metric field without a path", func(c *Config) {
			c.Input.Mapping.MetricFields = map[string]string{"lat": ""}
		}, []string{`input.mapping.metric_fields["lat"] has an empty path`}},
		{"no enriched topic", func(c *Config) { c.Output.EnrichedTopic = "" },
			[]string{"output.enriched_topic is empty"}},
		{"two outputs on one topic", func(c *Config) {
			c.Output.DeadLetterTopic = c.Output.EnrichedTopic
		}, []string{`output.dead_letter_topic "events.enriched" is also ` +
			"output.enriched_topic"}},
		{"an output that is an input", func(c *Config) {
			c.Output.EscalationTopic = "events"
		}, []string{`output.escalation_topic "events" is also an input topic`}},
		{"an unknown delivery", func(c *Config) { c.Output.Delivery = "once" },
			[]string{`output.delivery "once"`, "want exactly_once or at_least_once"}},
		{"negative recent events", func(c *Config) { c.Output.RecentEvents = -1 },
			[]string{"output.recent_events -1 is negative"}},
		{"a rule without a metric", func(c *Config) {
			c.Rules = []Rule{{Above: ptr(1)}}
		}, []string{"rules[0].metric is empty"}},
		{"a rule with both thresholds", func(c *Config) {
			c.Rules = []Rule{{Metric: "x", Above: ptr(1), Below: ptr(0)}}
		}, []string{`rules[0] (metric "x") sets both above and below`}},
		{"a rule with no threshold", func(c *Config) {
			c.Rules = []Rule{{Metric: "a", Above: ptr(1)}, {Metric: "x"}}
		}, []string{`rules[1] (metric "x") sets neither above nor below`}},
		{"a rule with NaN", func(c *Config) {
			c.Rules = []Rule{{Metric: "x", Below: ptr(math.NaN())}}
		}, []string{"rules[0].below NaN is not finite"}},
		{"a listen address without a port", func(c *Config) { c.HTTP.Listen = "localhost" },
			[]string{`http.listen "localhost" is not host:port`}},
		{"a listen port out of range", func(c *Config) { c.HTTP.Listen = "127.0.0.1:70000" },
			[]string{`http.listen "127.0.0.1:70000"`, "port out of range"}},
		{"an unknown log level", func(c *Config) { c.Log.Level = "trace" },
			[]string{`log.level "trace"`, "want debug, info, warn or error"}},
		{"an unknown log format", func(c *Config) { c.Log.Format = "text" },
			[]string{`log.format "text"`, "want json, console or auto"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(&c)
			wantErrContains(t, c.Validate(), tt.want...)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := valid()
	c.Kafka.Brokers = nil
	c.Input.StartOffset = "x"
	c.Log.Level = "loud"

	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("got %v, want errors joined with errors.Join", err)
	}
	if got, want := len(joined.Unwrap()), 3; got != want {
		t.Errorf("got %d problems, want %d:\n%v", got, want, err)
	}
}

func TestValidateNeverShowsPasswords(t *testing.T) {
	c := valid()
	c.Kafka.SASL = SASL{Mechanism: "BOGUS", Username: "u", Password: "hunter2"}
	c.SchemaRegistry.URL = "ftp://u:hunter2@sr"
	c.SchemaRegistry.Password = "hunter2"

	err := c.Validate()
	if err == nil {
		t.Fatal("got no error, want some")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("got %q, want no password in the error", err)
	}
}
