package kafkaclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"

	"github.com/streamtriage/triage/pkg/config"
)

// Options returns the client options that connect to the cluster c
// describes: SeedBrokers, ClientID, DialTLSConfig when TLS is enabled, SASL
// when a mechanism is set, and WithLogger when log is not nil. It reads the
// TLS files now, so a missing or malformed file is an error here rather
// than at the first dial. Options does not validate c beyond what building
// the options needs; config.Validate does that.
//
// The client logs through log, named "kafka", at most at info: its
// connection, group and producer lifecycle, and no per-request debug lines
// even when log is at debug.
func Options(c config.Kafka, log *zap.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if log == nil {
		log = zap.NewNop()
	} else {
		log = log.Named("kafka")
		opts = append(opts, kgo.WithLogger(logger(log)))
	}

	if c.TLS.Enabled {
		tc, err := tlsConfig(c.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
		if c.TLS.InsecureSkipVerify {
			log.Warn("tls certificate verification is off")
		}
	}

	if c.SASL.Mechanism != "" {
		m, err := mechanism(c.SASL)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
		if c.SASL.Mechanism == config.SASLPlain && !c.TLS.Enabled {
			log.Warn("sasl plain without tls sends the password in clear text")
		}
	}
	return opts, nil
}

// tlsConfig builds the dial config of c: TLS 1.2 or later, the roots of
// CAFile or the system's, and the client certificate if one is set. An
// empty ServerName is filled per broker by the client.
func tlsConfig(c config.TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, // opted into by the config
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("unable to read kafka.tls.ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = roots
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("unable to load kafka.tls.cert_file %q and key_file %q: %w",
				c.CertFile, c.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// mechanism returns the SASL mechanism c names, with its credentials.
func mechanism(c config.SASL) (sasl.Mechanism, error) {
	switch c.Mechanism {
	case config.SASLPlain:
		return plain.Auth{User: c.Username, Pass: c.Password}.AsMechanism(), nil
	case config.SASLScramSHA256:
		return scram.Auth{User: c.Username, Pass: c.Password}.AsSha256Mechanism(), nil
	case config.SASLScramSHA512:
		return scram.Auth{User: c.Username, Pass: c.Password}.AsSha512Mechanism(), nil
	default:
		return nil, fmt.Errorf("unsupported kafka.sasl.mechanism %q; "+
			"want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.Mechanism)
	}
}

// logger adapts log for the client. The client logs every request at
// debug and every transaction at info, so it is held one step quieter than
// log: its info lines appear only when log is at debug, and its debug lines
// never.
func logger(log *zap.Logger) kgo.Logger {
	core := log.Core()
	return kzap.New(log, kzap.LevelFn(func() kgo.LogLevel {
		switch {
		case core.Enabled(zap.DebugLevel):
			return kgo.LogLevelInfo
		case core.Enabled(zap.InfoLevel), core.Enabled(zap.WarnLevel):
			return kgo.LogLevelWarn
		case core.Enabled(zap.WarnLevel):
			return kgo.LogLevelWarn
		case core.Enabled(zap.ErrorLevel):
			return kgo.LogLevelError
		default:
			return kgo.LogLevelNone
		}
	}))
}
