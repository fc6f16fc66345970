package kafkaclient

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/streamtriage/triage/pkg/config"
)

// newClient builds a client from Options(c) and extra, closed at cleanup.
func newClient(t *testing.T, c config.Kafka, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts, err := Options(c, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("Options: got error %v, want none", err)
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: got error %v, want none", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestOptionsSetBrokersAndClientID(t *testing.T) {
	cl := newClient(t, config.Kafka{Brokers: []string{"a:9092", "b:9093"}, ClientID: "w"})

	seeds := cl.OptValue(kgo.SeedBrokers).([]string)
	if strings.Join(seeds, ",") != "a:9092,b:9093" {
		t.Errorf("got seed brokers %v, want [a:9092 b:9093]", seeds)
	}
	if got := cl.OptValue(kgo.ClientID).(string); got != "w" {
		t.Errorf("got client id %q, want %q", got, "w")
	}
	if tc, _ := cl.OptValue(kgo.DialTLSConfig).(*tls.Config); tc != nil {
		t.Errorf("got a TLS config with TLS off, want none")
	}
}

func TestOptionsTLSConfig(t *testing.T) {
	ca := newCA(t)
	leaf := newLeaf(t, "client", ca)
	cl := newClient(t, config.Kafka{
		Brokers: []string{"127.0.0.1:1"},
		TLS: config.TLS{
			Enabled:    true,
			CAFile:     ca.certFile,
			CertFile:   leaf.certFile,
			KeyFile:    leaf.keyFile,
			ServerName: "kafka.internal",
		},
	})

	tc, _ := cl.OptValue(kgo.DialTLSConfig).(*tls.Config)
	if tc == nil {
		t.Fatal("got no TLS config, want one")
	}
	if tc.MinVersion != tls.VersionTLS12 {
		t.Errorf("got min version %x, want TLS 1.2 (%x)", tc.MinVersion, tls.VersionTLS12)
	}
	if tc.ServerName != "kafka.internal" {
		t.Errorf("got server name %q, want %q", tc.ServerName, "kafka.internal")
	}
	if tc.RootCAs == nil || len(tc.Certificates) != 1 {
		t.Errorf("got roots %v and %d certificates, want the CA and 1",
			tc.RootCAs, len(tc.Certificates))
	}
	if tc.InsecureSkipVerify {
		t.Errorf("got InsecureSkipVerify true, want false")
	}
}

func TestOptionsSASLMechanisms(t *testing.T) {
	for _, mech := range []string{
		config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512, "",
	} {
		t.Run("mechanism "+mech, func(t *testing.T) {
			cl := newClient(t, config.Kafka{
				Brokers: []string{"127.0.0.1:1"},
				SASL:    config.SASL{Mechanism: mech, Username: "u", Password: "p"},
			})
			ms := cl.OptValue(kgo.SASL).([]sasl.Mechanism)
			var got []string
			for _, m := range ms {
				got = append(got, m.Name())
			}
			want := []string{mech}
			if mech == "" {
				want = nil
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("got mechanisms %v, want %v", got, want)
			}
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	ca := newCA(t)
	leaf := newLeaf(t, "client", ca)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, notPEM, []byte("not a certificate\n"))

	for _, tt := range []struct {
		name string
		c    config.Kafka
		want []string
	}{
		{
			name: "a missing CA file",
			c:    config.Kafka{TLS: config.TLS{Enabled: true, CAFile: missing}},
			want: []string{"unable to read kafka.tls.ca_file", missing, "no such file"},
		},
		{
			name: "a CA file without PEM",
			c:    config.Kafka{TLS: config.TLS{Enabled: true, CAFile: notPEM}},
			want: []string{"kafka.tls.ca_file " + notPEM + " holds no PEM certificate"},
		},
		{
			name: "a missing certificate file",
			c: config.Kafka{TLS: config.TLS{
				Enabled: true, CertFile: missing, KeyFile: leaf.keyFile,
			}},
			want: []string{"unable to load kafka.tls.cert_file", missing},
		},
		{
			name: "a key that does not match the certificate",
			c: config.Kafka{TLS: config.TLS{
				Enabled: true, CertFile: leaf.certFile, KeyFile: ca.keyFile,
			}},
			want: []string{"unable to load kafka.tls.cert_file", "private key does not match"},
		},
		{
			name: "an unsupported mechanism",
			c:    config.Kafka{SASL: config.SASL{Mechanism: "GSSAPI"}},
			want: []string{`unsupported kafka.sasl.mechanism "GSSAPI"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Options(tt.c, nil)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got error %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestOptionsSkipsTLSFilesWhenDisabled(t *testing.T) {
	c := config.Kafka{TLS: config.TLS{CAFile: filepath.Join(t.TempDir(), "absent")}}
	if _, err := Options(c, nil); err != nil {
		t.Errorf("got error %v with TLS disabled, want none", err)
	}
}

// TestLoggerIsOneStepQuieter checks that the client's per-transaction info
// lines appear only when the worker logs at debug.
func TestLoggerIsOneStepQuieter(t *testing.T) {
	for _, tt := range []struct {
		zap  zap.AtomicLevel
		want kgo.LogLevel
	}{
		{zap.NewAtomicLevelAt(zap.DebugLevel), kgo.LogLevelInfo},
		{zap.NewAtomicLevelAt(zap.InfoLevel), kgo.LogLevelWarn},
		{zap.NewAtomicLevelAt(zap.WarnLevel), kgo.LogLevelWarn},
		{zap.NewAtomicLevelAt(zap.ErrorLevel), kgo.LogLevelError},
		{zap.NewAtomicLevelAt(zap.FatalLevel), kgo.LogLevelNone},
	} {
		log := zaptest.NewLogger(t, zaptest.Level(tt.zap))
		if got := logger(log).Level(); got != tt.want {
			t.Errorf("zap at %s: got client level %s, want %s", tt.zap, got, tt.want)
		}
	}
}
