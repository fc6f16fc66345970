package kafkaclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/streamtriage/triage/pkg/config"
)

// newCluster starts a one-broker fake cluster for the test and returns its
// address.
func newCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatalf("unable to start a fake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// ping connects with Options(c) and returns the error of one metadata
// request, bounded so that a refused connection cannot hang the test.
func ping(t *testing.T, c config.Kafka, extra ...kgo.Opt) error {
	t.Helper()
	cl := newClient(t, c, extra...)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

// pingObserved is ping with the client logging, from debug up, into the
// returned logs, and with failed reads recorded.
func pingObserved(t *testing.T, c config.Kafka,
) (*observer.ObservedLogs, *failedReads, error) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	opts, err := Options(c, zap.New(core))
	if err != nil {
		t.Fatalf("Options: got error %v, want none", err)
	}
	reads := new(failedReads)
	cl, err := kgo.NewClient(append(opts, kgo.WithHooks(reads))...)
	if err != nil {
		t.Fatalf("kgo.NewClient: got error %v, want none", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return logs, reads, cl.Ping(ctx)
}

// failedReads records the request keys whose responses could not be read.
type failedReads struct {
	mu   sync.Mutex
	keys []int16
}

// OnBrokerRead implements kgo.HookBrokerRead.
func (r *failedReads) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int,
	_, _ time.Duration, err error,
) {
	if err != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.keys = append(r.keys, key)
	}
}

// authFailed reports whether err, or the failed reads, show that SASL
// authentication failed. A broker answers SASL_AUTHENTICATION_FAILED; kfake
// closes the connection instead of answering the SASLAuthenticate request.
func authFailed(err error, reads *failedReads) bool {
	if errors.Is(err, kerr.SaslAuthenticationFailed) {
		return true
	}
	reads.mu.Lock()
	defer reads.mu.Unlock()
	return err != nil && slices.Contains(reads.keys, kmsg.NewPtrSASLAuthenticateRequest().Key())
}

func TestSASLAgainstFakeCluster(t *testing.T) {
	brokers := newCluster(t,
		kfake.EnableSASL(),
		kfake.Superuser(config.SASLScramSHA256, "admin", "admin-secret"),
		kfake.User(config.SASLPlain, "plain-user", "plain-secret"),
		kfake.User(config.SASLScramSHA512, "scram-user", "scram-secret"),
	)

	for _, tt := range []struct {
		name     string
		sasl     config.SASL
		wantAuth bool // want an authentication failure
	}{
		{"PLAIN with the right password connects",
			config.SASL{Mechanism: config.SASLPlain, Username: "plain-user",
				Password: "plain-secret"}, false},
		{"SCRAM-SHA-256 with the right password connects",
			config.SASL{Mechanism: config.SASLScramSHA256, Username: "admin",
				Password: "admin-secret"}, false},
		{"SCRAM-SHA-512 with the right password connects",
			config.SASL{Mechanism: config.SASLScramSHA512, Username: "scram-user",
				Password: "scram-secret"}, false},
		{"PLAIN with a wrong password fails",
			config.SASL{Mechanism: config.SASLPlain, Username: "plain-user",
				Password: "wrong"}, true},
		{"SCRAM-SHA-256 with a wrong password fails",
			config.SASL{Mechanism: config.SASLScramSHA256, Username: "admin",
				Password: "wrong"}, true},
		{"SCRAM-SHA-512 with a wrong password fails",
			config.SASL{Mechanism: config.SASLScramSHA512, Username: "scram-user",
				Password: "wrong"}, true},
		{"a user of another mechanism fails",
			config.SASL{Mechanism: config.SASLScramSHA256, Username: "scram-user",
				Password: "scram-secret"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs, reads, err := pingObserved(t, config.Kafka{Brokers: brokers, SASL: tt.sasl})
			switch {
			case !tt.wantAuth && err != nil:
				t.Errorf("got error %v, want the ping to succeed", err)
			case tt.wantAuth && !authFailed(err, reads):
				t.Errorf("got error %v, failed reads of keys %v, want a SASL "+
					"authentication failure", err, reads.keys)
			}
			// The client logs through the "kafka" logger, never below info.
			for _, e := range logs.All() {
				if e.Level < zap.InfoLevel || e.LoggerName != "kafka" {
					t.Errorf("got %s log %q from logger %q, want info or above from kafka",
						e.Level, e.Message, e.LoggerName)
				}
			}
		})
	}
}

func TestTLSAgainstFakeCluster(t *testing.T) {
	ca := newCA(t)
	server := newLeaf(t, "broker", ca)
	client := newLeaf(t, "worker", ca)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	tlsOnly := newCluster(t, kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{server.pair},
		MinVersion:   tls.VersionTLS12,
	}))
	mutual := newCluster(t, kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{server.pair},
		ClientCAs:    roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}))
	tlsSCRAM := newCluster(t,
		kfake.TLS(&tls.Config{
			Certificates: []tls.Certificate{server.pair},
			MinVersion:   tls.VersionTLS12,
		}),
		kfake.EnableSASL(),
		kfake.Superuser(config.SASLScramSHA512, "admin", "admin-secret"),
	)

	for _, tt := range []struct {
		name    string
		c       config.Kafka
		wantErr string // empty: want success
	}{
		{
			name: "the CA file verifies the broker",
			c: config.Kafka{Brokers: tlsOnly, TLS: config.TLS{
				Enabled: true, CAFile: ca.certFile,
			}},
		},
		{
			name: "the system roots do not know the test CA",
			c:    config.Kafka{Brokers: tlsOnly, TLS: config.TLS{Enabled: true}},
			// The message differs by platform; each names the authority.
			wantErr: "certificate",
		},
		{
			name: "skipping verification connects anyway",
			c: config.Kafka{Brokers: tlsOnly, TLS: config.TLS{
				Enabled: true, InsecureSkipVerify: true,
			}},
		},
		{
			name: "a wrong server name is refused",
			c: config.Kafka{Brokers: tlsOnly, TLS: config.TLS{
				Enabled: true, CAFile: ca.certFile, ServerName: "elsewhere",
			}},
			wantErr: "elsewhere",
		},
		{
			name: "mutual TLS with the client certificate connects",
			c: config.Kafka{Brokers: mutual, TLS: config.TLS{
				Enabled: true, CAFile: ca.certFile,
				CertFile: client.certFile, KeyFile: client.keyFile,
			}},
		},
		{
			name: "mutual TLS without a client certificate fails",
			c: config.Kafka{Brokers: mutual, TLS: config.TLS{
				Enabled: true, CAFile: ca.certFile,
			}},
			wantErr: "certificate",
		},
		{
			name: "SCRAM over TLS connects",
			c: config.Kafka{
				Brokers: tlsSCRAM,
				TLS:     config.TLS{Enabled: true, CAFile: ca.certFile},
				SASL: config.SASL{Mechanism: config.SASLScramSHA512, Username: "admin",
					Password: "admin-secret"},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := ping(t, tt.c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want the ping to succeed", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("got no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMetricsAgainstFakeCluster(t *testing.T) {
	brokers := newCluster(t)
	reg := prometheus.NewRegistry()

	opts, err := Options(config.Kafka{Brokers: brokers}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(opts, kgo.WithHooks(Metrics(reg, "triage")))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("got ping error %v, want none", err)
	}

	if got := gathered(t, reg, "triage_connects_total"); got < 1 {
		t.Errorf("got triage_connects_total %v, want at least 1", got)
	}
	cl.Close()
	if got := gathered(t, reg, "triage_connects_total"); got != -1 {
		t.Errorf("got triage_connects_total %v after Close, want it unregistered", got)
	}
}

// gathered returns the sum of the counter name in reg, or -1 if it is absent.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("unable to gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		var sum float64
		for _, m := range f.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
		return sum
	}
	return -1
}
