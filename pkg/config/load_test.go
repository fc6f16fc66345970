package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// noEnv is an environment with nothing set.
func noEnv(string) (string, bool) { return "", false }

// mapEnv is an environment holding exactly m.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// writeFile writes content to a new file in a test directory and returns
// its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("unable to write %s: %v", path, err)
	}
	return path
}

// mustLoad loads path with env and fails the test on error.
func mustLoad(t *testing.T, path string, env func(string) (string, bool)) Config {
	t.Helper()
	c, err := load(path, env)
	if err != nil {
		t.Fatalf("load(%q): got error %v, want none", path, err)
	}
	return c
}

// wantErrContains fails unless err is non-nil and its text holds every part.
func wantErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("got error %q, want it to contain %q", err, part)
		}
	}
}

func TestLoadWithoutFileOrEnvIsDefault(t *testing.T) {
	got := mustLoad(t, "", noEnv)
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLoadFileOverridesDefaults(t *testing.T) {
	path := writeFile(t, "c.yaml", `
worker_id: w1
kafka:
  brokers: [a:9092, b:9092]
  session_timeout: 10s
input:
  max_poll_records: 50
  mapping:
    metric_fields: {latency: timing.latency_ms}
rules:
  - {metric: latency, above: 250}
`)
	got := mustLoad(t, path, noEnv)

	want := Default()
	want.WorkerID = "w1"
	want.Kafka.Brokers = []string{"a:9092", "b:9092"}
	want.Kafka.SessionTimeout = 10 * time.Second
	want.Input.MaxPollRecords = 50
	want.Input.Mapping.MetricFields = map[string]string{"latency": "timing.latency_ms"}
	above := 250.0
	want.Rules = []Rule{{Metric: "latency", Above: &above}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestLoadFileErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content string
		want    []string
	}{
		{
			name:    "an unknown key is named with its line",
			content: "kafka:\n  brokers: [a:1]\n  brokerz: [b:1]\n",
			want:    []string{`:3: unknown key "brokerz"`},
		},
		{
			name:    "every unknown key is reported",
			content: "wokrer_id: x\nlog:\n  colour: true\n",
			want:    []string{`:1: unknown key "wokrer_id"`, `:3: unknown key "colour"`},
		},
		{
			name:    "a value of the wrong type names its line",
			content: "input:\n  max_poll_records: many\n",
			want:    []string{":2: cannot unmarshal"},
		},
		{
			name:    "a duration without a unit is refused",
			content: "kafka:\n  session_timeout: 45\n",
			want:    []string{":2:"},
		},
		{
			name:    "broken YAML is a parse error",
			content: "kafka: [\n",
			want:    []string{"unable to parse config file"},
		},
		{
			name:    "two documents are refused",
			content: "worker_id: a\n---\nworker_id: b\n",
			want:    []string{"more than one YAML document"},
		},
		{
			name:    "a valid file with invalid values fails validation",
			content: "input:\n  start_offset: first\n",
			want:    []string{"invalid configuration", `input.start_offset "first"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.content)
			got, err := load(path, noEnv)
			wantErrContains(t, err, tt.want...)
			if !reflect.DeepEqual(got, Config{}) {
				t.Errorf("got config %+v with the error, want the zero Config", got)
			}
		})
	}
}

func TestLoadEmptyFileIsDefault(t *testing.T) {
	got := mustLoad(t, writeFile(t, "empty.yaml", "# nothing set\n"), noEnv)
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := load(path, noEnv)
	wantErrContains(t, err, "unable to open config file", "absent.yaml")
}

func TestLoadEmptyWorkerIDIsHostName(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		t.Skipf("no host name: %v", err)
	}
	got := mustLoad(t, writeFile(t, "c.yaml", `worker_id: ""`), noEnv)
	if got.WorkerID != host {
		t.Errorf("got worker_id %q, want the host name %q", got.WorkerID, host)
	}
}

func TestEnvOverrides(t *testing.T) {
	path := writeFile(t, "c.yaml", "worker_id: from-file\nkafka:\n  client_id: file\n")
	for _, tt := range []struct {
		name  string
		env   map[string]string
		check func(Config) (got, want any)
	}{
		{
			name: "a string beats the file",
			env:  map[string]string{"TRIAGE_WORKER_ID": "from-env"},
			check: func(c Config) (any, any) {
				return c.WorkerID, "from-env"
			},
		},
		{
			name: "a nested string",
			env:  map[string]string{"TRIAGE_KAFKA_CLIENT_ID": "env"},
			check: func(c Config) (any, any) {
				return c.Kafka.ClientID, "env"
			},
		},
		{
			name: "a list is comma-separated and trimmed",
			env:  map[string]string{"TRIAGE_KAFKA_BROKERS": "a:1, b:2,,c:3"},
			check: func(c Config) (any, any) {
				return c.Kafka.Brokers, []string{"a:1", "b:2", "c:3"}
			},
		},
		{
			name: "an empty list clears it",
			env:  map[string]string{"TRIAGE_INPUT_SCHEMA_FILES": ""},
			check: func(c Config) (any, any) {
				return c.Input.SchemaFiles, []string{}
			},
		},
		{
			name: "an integer",
			env:  map[string]string{"TRIAGE_INPUT_MAX_RECORD_BYTES": "2048"},
			check: func(c Config) (any, any) {
				return c.Input.MaxRecordBytes, 2048
			},
		},
		{
			name: "a duration",
			env:  map[string]string{"TRIAGE_KAFKA_SESSION_TIMEOUT": "1m30s"},
			check: func(c Config) (any, any) {
				return c.Kafka.SessionTimeout, 90 * time.Second
			},
		},
		{
			name: "a boolean",
			env: map[string]string{
				"TRIAGE_KAFKA_TLS_ENABLED":              "true",
				"TRIAGE_KAFKA_TLS_INSECURE_SKIP_VERIFY": "1",
			},
			check: func(c Config) (any, any) {
				return []bool{c.Kafka.TLS.Enabled, c.Kafka.TLS.InsecureSkipVerify},
					[]bool{true, true}
			},
		},
		{
			name: "a password",
			env: map[string]string{
				"TRIAGE_KAFKA_SASL_MECHANISM": "PLAIN",
				"TRIAGE_KAFKA_SASL_USERNAME":  "u",
				"TRIAGE_KAFKA_SASL_PASSWORD":  "p",
			},
			check: func(c Config) (any, any) {
				return c.Kafka.SASL, SASL{Mechanism: "PLAIN", Username: "u", Password: "p"}
			},
		},
		{
			name: "the delivery mode",
			env:  map[string]string{"TRIAGE_OUTPUT_DELIVERY": AtLeastOnce},
			check: func(c Config) (any, any) {
				return c.Output.Delivery, AtLeastOnce
			},
		},
		{
			name: "an empty listen address disables the listener",
			env:  map[string]string{"TRIAGE_HTTP_LISTEN": ""},
			check: func(c Config) (any, any) {
				return c.HTTP.Listen, ""
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, want := tt.check(mustLoad(t, path, mapEnv(tt.env)))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

func TestEnvBadValuesNameTheVariable(t *testing.T) {
	for _, tt := range []struct {
		name, value string
	}{
		{"TRIAGE_INPUT_MAX_RECORD_BYTES", "1MB"},
		{"TRIAGE_INPUT_MAX_POLL_RECORDS", ""},
		{"TRIAGE_KAFKA_SESSION_TIMEOUT", "45"},
		{"TRIAGE_KAFKA_TLS_ENABLED", "yes please"},
		{"TRIAGE_OUTPUT_RECENT_EVENTS", "99999999999999999999"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load("", mapEnv(map[string]string{tt.name: tt.value}))
			wantErrContains(t, err, tt.name, strings.TrimSpace(tt.value))
		})
	}
}

func TestEnvNamesCoverEveryScalarField(t *testing.T) {
	var c Config
	var got []string
	for _, f := range envFields(&c) {
		got = append(got, f.name)
	}
	want := []string{
		"TRIAGE_WORKER_ID",
		"TRIAGE_KAFKA_BROKERS",
		"TRIAGE_KAFKA_CLIENT_ID",
		"TRIAGE_KAFKA_TLS_ENABLED",
		"TRIAGE_KAFKA_TLS_CA_FILE",
		"TRIAGE_KAFKA_TLS_CERT_FILE",
		"TRIAGE_KAFKA_TLS_KEY_FILE",
		"TRIAGE_KAFKA_TLS_SERVER_NAME",
		"TRIAGE_KAFKA_TLS_INSECURE_SKIP_VERIFY",
		"TRIAGE_KAFKA_SASL_MECHANISM",
		"TRIAGE_KAFKA_SASL_USERNAME",
		"TRIAGE_KAFKA_SASL_PASSWORD",
		"TRIAGE_KAFKA_SASL_PASSWORD_FILE",
		"TRIAGE_KAFKA_SESSION_TIMEOUT",
		"TRIAGE_KAFKA_REBALANCE_TIMEOUT",
		"TRIAGE_KAFKA_INSTANCE_ID",
		"TRIAGE_KAFKA_TRANSACTION_TIMEOUT",
		"TRIAGE_SCHEMA_REGISTRY_URL",
		"TRIAGE_SCHEMA_REGISTRY_USERNAME",
		"TRIAGE_SCHEMA_REGISTRY_PASSWORD",
		"TRIAGE_SCHEMA_REGISTRY_PASSWORD_FILE",
		"TRIAGE_SCHEMA_REGISTRY_TIMEOUT",
		"TRIAGE_INPUT_TOPICS",
		"TRIAGE_INPUT_GROUP",
		"TRIAGE_INPUT_START_OFFSET",
		"TRIAGE_INPUT_MAX_RECORD_BYTES",
		"TRIAGE_INPUT_MAX_POLL_RECORDS",
		"TRIAGE_INPUT_SCHEMA_FILES",
		"TRIAGE_INPUT_MAPPING_ID",
		"TRIAGE_INPUT_MAPPING_EVENT_TIME",
		"TRIAGE_INPUT_MAPPING_SOURCE",
		"TRIAGE_INPUT_MAPPING_ENTITY",
		"TRIAGE_INPUT_MAPPING_TEXT",
		"TRIAGE_INPUT_MAPPING_METRICS",
		"TRIAGE_INPUT_MAPPING_ATTRIBUTES",
		"TRIAGE_OUTPUT_ENRICHED_TOPIC",
		"TRIAGE_OUTPUT_ESCALATION_TOPIC",
		"TRIAGE_OUTPUT_DEAD_LETTER_TOPIC",
		"TRIAGE_OUTPUT_DELIVERY",
		"TRIAGE_OUTPUT_RECENT_EVENTS",
		"TRIAGE_OUTPUT_STATE_TOPIC",
		"TRIAGE_CLASSIFIER_MODEL",
		"TRIAGE_CLASSIFIER_RELOAD_INTERVAL",
		"TRIAGE_CLASSIFIER_MAX_TEXT_BYTES",
		"TRIAGE_CLASSIFIER_THRESHOLD",
		"TRIAGE_ANOMALY_ENABLED",
		"TRIAGE_ANOMALY_METRICS",
		"TRIAGE_ANOMALY_THRESHOLD",
		"TRIAGE_ANOMALY_WARMUP",
		"TRIAGE_ANOMALY_HOLD",
		"TRIAGE_ANOMALY_LATENESS",
		"TRIAGE_ANOMALY_MAX_MEMORY_BYTES",
		"TRIAGE_ANOMALY_SURGE_BUCKET",
		"TRIAGE_ANOMALY_SURGE_SIGMAS",
		"TRIAGE_EXPLAINER_GROUP",
		"TRIAGE_EXPLAINER_EXPLANATIONS_TOPIC",
		"TRIAGE_EXPLAINER_STATE_TOPIC",
		"TRIAGE_EXPLAINER_HTTP_LISTEN",
		"TRIAGE_EXPLAINER_WINDOW",
		"TRIAGE_EXPLAINER_DEBOUNCE",
		"TRIAGE_EXPLAINER_UPDATE_INTERVAL",
		"TRIAGE_EXPLAINER_PROMPT_MAX_TOKENS",
		"TRIAGE_EXPLAINER_MODEL_BASE_URL",
		"TRIAGE_EXPLAINER_MODEL_NAME",
		"TRIAGE_EXPLAINER_MODEL_API_KEY_ENV",
		"TRIAGE_EXPLAINER_MODEL_API_KEY_FILE",
		"TRIAGE_EXPLAINER_MODEL_TIMEOUT",
		"TRIAGE_EXPLAINER_MODEL_OUTPUT",
		"TRIAGE_EXPLAINER_MODEL_MAX_ATTEMPTS",
		"TRIAGE_EXPLAINER_MODEL_MAX_CONCURRENT",
		"TRIAGE_EXPLAINER_MODEL_MAX_OUTPUT_TOKENS",
		"TRIAGE_EXPLAINER_BUDGET_TOKENS_PER_MINUTE",
		"TRIAGE_EXPLAINER_BUDGET_TOKENS_PER_DAY",
		"TRIAGE_EXPLAINER_BUDGET_COST_PER_DAY_USD",
		"TRIAGE_EXPLAINER_BUDGET_INPUT_PRICE_PER_1K",
		"TRIAGE_EXPLAINER_BUDGET_OUTPUT_PRICE_PER_1K",
		"TRIAGE_HTTP_LISTEN",
		"TRIAGE_HTTP_TOKEN",
		"TRIAGE_HTTP_TOKEN_FILE",
		"TRIAGE_LOG_LEVEL",
		"TRIAGE_LOG_FORMAT",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got env names\n%s\nwant\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPasswordFile(t *testing.T) {
	pwFile := writeFile(t, "pw", "s3cret\r\n")
	sasl := map[string]string{
		"TRIAGE_KAFKA_SASL_MECHANISM": SASLScramSHA512,
		"TRIAGE_KAFKA_SASL_USERNAME":  "u",
	}
	withEnv := func(extra map[string]string) func(string) (string, bool) {
		m := map[string]string{}
		for k, v := range sasl {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return mapEnv(m)
	}

	t.Run("the file is read and its newline trimmed", func(t *testing.T) {
		c := mustLoad(t, "", withEnv(map[string]string{
			"TRIAGE_KAFKA_SASL_PASSWORD_FILE": pwFile,
		}))
		if got, want := c.Kafka.SASL.Password, "s3cret"; got != want {
			t.Errorf("got password %q, want %q", got, want)
		}
	})

	t.Run("the schema registry password file too", func(t *testing.T) {
		path := writeFile(t, "c.yaml", "schema_registry:\n  url: http://sr:8081\n"+
			"  username: u\n  password_file: "+pwFile+"\n")
		c := mustLoad(t, path, noEnv)
		if got, want := c.SchemaRegistry.Password, "s3cret"; got != want {
			t.Errorf("got password %q, want %q", got, want)
		}
	})

	t.Run("both set is an error", func(t *testing.T) {
		_, err := load("", withEnv(map[string]string{
			"TRIAGE_KAFKA_SASL_PASSWORD":      "p",
			"TRIAGE_KAFKA_SASL_PASSWORD_FILE": pwFile,
		}))
		wantErrContains(t, err, "kafka.sasl.password and kafka.sasl.password_file")
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("got error %q, want no password in it", err)
		}
	})

	t.Run("a missing file is an error naming the field", func(t *testing.T) {
		_, err := load("", withEnv(map[string]string{
			"TRIAGE_KAFKA_SASL_PASSWORD_FILE": filepath.Join(t.TempDir(), "none"),
		}))
		wantErrContains(t, err, "unable to read kafka.sasl.password_file")
	})
}

func TestSecretsListEveryPasswordField(t *testing.T) {
	var c Config
	listed := map[*string]bool{}
	for _, s := range c.secrets() {
		listed[s.password] = true
		listed[s.file] = true
	}
	for _, f := range envFields(&c) {
		if !strings.HasSuffix(f.path, "password") &&
			!strings.HasSuffix(f.path, "password_file") &&
			!strings.HasSuffix(f.path, "token") && !strings.HasSuffix(f.path, "token_file") {
			continue
		}
		p := f.value.Addr().Interface().(*string)
		if !listed[p] {
			t.Errorf("got %s missing from secrets(), want every password listed", f.path)
		}
	}
}
