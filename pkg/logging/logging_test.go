package logging

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/streamtriage/triage/pkg/config"
)

// newLogger returns a logger for c writing into a buffer.
func newLogger(t *testing.T, c config.Log) (*zap.Logger, *strings.Builder) {
	t.Helper()
	var buf strings.Builder
	log, err := New(c, &buf)
	if err != nil {
		t.Fatalf("New(%+v): got error %v, want none", c, err)
	}
	return log, &buf
}

func TestJSONByDefault(t *testing.T) {
	for _, format := range []string{"", config.FormatAuto, config.FormatJSON} {
		t.Run("format "+format, func(t *testing.T) {
			log, buf := newLogger(t, config.Log{Format: format})
			log.Info("group joined", zap.String("group_id", "g"), zap.Int("generation", 3))

			var entry map[string]any
			if err := json.Unmarshal([]byte(buf.String()), &entry); err != nil {
				t.Fatalf("got %q, want one JSON object: %v", buf, err)
			}
			for k, want := range map[string]any{
				"level": "info", "msg": "group joined", "group_id": "g", "generation": 3.0,
			} {
				if got := entry[k]; got != want {
					t.Errorf("got %s %v, want %v", k, got, want)
				}
			}
			if _, ok := entry["time"]; !ok {
				t.Errorf("got %v, want a time field", entry)
			}
		})
	}
}

func TestConsoleFormat(t *testing.T) {
	log, buf := newLogger(t, config.Log{Format: config.FormatConsole})
	log.Warn("commit failed", zap.String("topic", "t"))

	got := buf.String()
	if strings.HasPrefix(got, "{") {
		t.Fatalf("got %q, want console output, not JSON", got)
	}
	for _, want := range []string{"WARN", "commit failed", `{"topic": "t"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("got %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("got %q, want no color codes off a terminal", got)
	}
}

func TestLevel(t *testing.T) {
	for _, tt := range []struct {
		level string
		want  []string
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"", []string{"i", "w", "e"}},
		{"info", []string{"i", "w", "e"}},
		{"warn", []string{"w", "e"}},
		{"error", []string{"e"}},
	} {
		t.Run("level "+tt.level, func(t *testing.T) {
			log, buf := newLogger(t, config.Log{Level: tt.level, Format: config.FormatJSON})
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")

			var got []string
			for line := range strings.Lines(buf.String()) {
				var entry struct{ Msg string }
				if err := json.Unmarshal([]byte(line), &entry); err != nil {
					t.Fatalf("got line %q, want JSON: %v", line, err)
				}
				got = append(got, entry.Msg)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got messages %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewRejectsUnknownValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    config.Log
		want string
	}{
		{"an unknown level", config.Log{Level: "trace"}, `unknown log level "trace"`},
		{"an unknown format", config.Log{Format: "xml"}, `unknown log format "xml"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRepeatedMessagesAreSampled(t *testing.T) {
	log, buf := newLogger(t, config.Log{Format: config.FormatJSON})
	for range 1000 {
		log.Warn("fetch error")
	}
	got := strings.Count(buf.String(), "\n")
	// Within one second: the first 100, then every 100th of the other 900,
	// 109 lines; twice the first 100 if the loop straddles a second.
	if got < 109 || got > 209 {
		t.Errorf("got %d lines for 1000 repeats, want 109 to 209", got)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if isTerminal(f) {
		t.Errorf("got a regular file reported as a terminal, want not")
	}
	if isTerminal(&strings.Builder{}) {
		t.Errorf("got a buffer reported as a terminal, want not")
	}
}

func TestParseLevel(t *testing.T) {
	got, err := parseLevel("warn")
	if err != nil || got != zapcore.WarnLevel {
		t.Errorf("got %v, %v, want %v, nil", got, err, zapcore.WarnLevel)
	}
}
