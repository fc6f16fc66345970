package kafkaclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCert is a certificate and key made for a test, in memory and as PEM
// files in the test's directory.
type testCert struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	pair     tls.Certificate
	certFile string
	keyFile  string
}

// newCA returns a self-signed certificate authority.
func newCA(t *testing.T) *testCert {
	t.Helper()
	return newCert(t, "test ca", nil, func(tmpl *x509.Certificate) {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	})
}

// newLeaf returns a certificate signed by ca for 127.0.0.1, usable by a
// server and by a client.
func newLeaf(t *testing.T, name string, ca *testCert) *testCert {
	t.Helper()
	return newCert(t, name, ca, func(tmpl *x509.Certificate) {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{
			x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth,
		}
	})
}

// newCert makes a certificate named name, signed by parent or by itself if
// parent is nil, after shape has adjusted its template.
func newCert(t *testing.T, name string, parent *testCert, shape func(*x509.Certificate),
) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("unable to generate a key: %v", err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatalf("unable to draw a serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	shape(tmpl)

	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatalf("unable to create certificate %s: %v", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("unable to parse certificate %s: %v", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("unable to marshal key: %v", err)
	}

	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("unable to pair certificate %s: %v", name, err)
	}
	dir := t.TempDir()
	c := &testCert{
		cert:     cert,
		key:      key,
		pair:     pair,
		certFile: filepath.Join(dir, "cert.pem"),
		keyFile:  filepath.Join(dir, "key.pem"),
	}
	writeFile(t, c.certFile, certPEM)
	writeFile(t, c.keyFile, keyPEM)
	return c
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("unable to write %s: %v", path, err)
	}
}
