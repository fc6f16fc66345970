package worker_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/streamtriage/triage/pkg/config"
	"github.com/streamtriage/triage/pkg/worker"
)

// syncBuffer is a log sink that the worker's goroutines can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSecretsStayOutOfLogsAndMetrics runs a worker and an explainer at the
// debug level against a broker that requires SASL/SCRAM, with an HTTP
// token and a model API key, and searches everything they logged and
// served on /metrics for the secrets.
func TestSecretsStayOutOfLogsAndMetrics(t *testing.T) {
	const password, token, apiKey = "kafka-pa55word", "http-t0ken", "sk-model-k3y"
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser(config.SASLScramSHA256, "triage", password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	admin, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.SASL(scram.Auth{User: "triage", Pass: password}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	compact := "compact"
	ctx := context.Background()
	adm := kadm.NewClient(admin)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "events", "events.enriched",
		"events.escalations", "events.deadletter", "events.explanations"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopics(ctx, 1, 1, map[string]*string{"cleanup.policy": &compact},
		"events.state", "events.explainer-state"); err != nil {
		t.Fatal(err)
	}

	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIAGE_KAFKA_SASL_MECHANISM", config.SASLScramSHA256)
	t.Setenv("TRIAGE_KAFKA_SASL_USERNAME", "triage")
	t.Setenv("TRIAGE_KAFKA_SASL_PASSWORD", password)
	t.Setenv("TRIAGE_HTTP_TOKEN", token)
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.WorkerID = "secrets-worker"
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Explainer.HTTPListen = "127.0.0.1:0"
	cfg.Explainer.Model.BaseURL = "http://127.0.0.1:1/v1" // nothing listens: the heuristic
	cfg.Explainer.Model.Name = "m"
	cfg.Explainer.Model.APIKeyFile = keyFile
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(logs), zapcore.DebugLevel))
	log.Info("configuration", zap.Stringer("config", cfg))
	w, err := worker.New(cfg, log.Named("worker"))
	if err != nil {
		t.Fatal(err)
	}
	x, err := worker.NewExplainer(cfg, log.Named("explainer"))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range []*worker.Worker{w, x} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Run(runCtx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}

	var served []string
	deadline := time.Now().Add(30 * time.Second)
	for _, r := range []*worker.Worker{w, x} {
		for r.Ready() != nil || r.HTTPAddr() == "" {
			if time.Now().After(deadline) {
				t.Fatalf("not ready after 30s: %v", r.Ready())
			}
			time.Sleep(20 * time.Millisecond)
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.HTTPAddr()+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics with the token: got %d, want 200", resp.StatusCode)
		}
		served = append(served, string(b))
	}
	cancel()
	wg.Wait()

	all := logs.String() + strings.Join(served, "")
	if !strings.Contains(logs.String(), `"msg":"worker starting"`) {
		t.Fatalf("got no worker log to search; logs:\n%s", logs.String())
	}
	t.Logf("searched %d bytes of logs and metrics", len(all))
	for _, secret := range []string{password, token, apiKey} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs or metrics hold the secret %q", secret)
		}
	}
}
