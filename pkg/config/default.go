package config

import (
	"os"
	"time"
)

// Default returns the configuration a worker runs with when neither the file
// nor the environment sets anything: every default named in the field docs.
// WorkerID is the host name, or empty if the host name is unavailable (which
// Validate then reports).
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		WorkerID: host,
		Kafka: Kafka{
			Brokers:            []string{"127.0.0.1:9092"},
			ClientID:           "triage",
			SessionTimeout:     45 * time.Second,
			RebalanceTimeout:   60 * time.Second,
			TransactionTimeout: 60 * time.Second,
		},
		SchemaRegistry: SchemaRegistry{
			Timeout: 5 * time.Second,
		},
		Input: Input{
			Topics:         []string{"events"},
			Group:          "triage-worker",
			StartOffset:    StartEarliest,
			MaxRecordBytes: 512 << 10,
			MaxPollRecords: 1000,
			Mapping: Mapping{
				ID:         "id",
				EventTime:  "event_time",
				Source:     "source",
				Entity:     "entity",
				Text:       "text",
				Metrics:    "metrics",
				Attributes: "attributes",
			},
		},
		Output: Output{
			EnrichedTopic:   "events.enriched",
			EscalationTopic: "events.escalations",
			DeadLetterTopic: "events.deadletter",
			Delivery:        ExactlyOnce,
			RecentEvents:    5,
			StateTopic:      "events.state",
		},
		Classifier: Classifier{
			ReloadInterval: 30 * time.Second,
			MaxTextBytes:   4096,
		},
		Anomaly: Anomaly{
			SurgeBucket:    time.Minute,
			SurgeSigmas:    4,
			Enabled:        true,
			Threshold:      0.3,
			Warmup:         150,
			Hold:           150,
			Lateness:       time.Hour,
			MaxMemoryBytes: 256 << 20,
		},
		Explainer: Explainer{
			Group:             "triage-explainer",
			ExplanationsTopic: "events.explanations",
			StateTopic:        "events.explainer-state",
			HTTPListen:        "127.0.0.1:9465",
			Window:            5 * time.Minute,
			Debounce:          10 * time.Second,
			UpdateInterval:    5 * time.Minute,
			PromptMaxTokens:   3000,
			Model: Model{
				APIKeyEnv:       "OPENAI_API_KEY",
				Timeout:         60 * time.Second,
				Output:          "json_schema",
				MaxAttempts:     3,
				MaxConcurrent:   2,
				MaxOutputTokens: 800,
			},
		},
		HTTP: HTTP{Listen: "127.0.0.1:9464"},
		Log:  Log{Level: "info", Format: "auto"},
	}
}
