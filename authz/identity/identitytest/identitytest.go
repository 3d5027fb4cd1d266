// Package identitytest makes throw-away certificate authorities and
// certificates for tests: client certificates for users (usable by the docker
// CLI), server certificates for dockerd's --tlscert, and forged or broken
// certificates for negative tests.
//
// Keys are ECDSA P-256. Client leaves carry ExtKeyUsageClientAuth, server
// leaves ExtKeyUsageServerAuth with SANs 127.0.0.1, ::1 and localhost.
// Errors (which only a broken crypto library could cause) fail the test.
package identitytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

// CA is a test certificate authority.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
	KeyPEM  []byte

	tb testing.TB
}

type config struct {
	ous        []string
	notBefore  time.Time
	notAfter   time.Time
	ekus       []x509.ExtKeyUsage
	ekusSet    bool
	keyUsage   x509.KeyUsage
	kuSet      bool
	dns        []string
	ips        []net.IP
	pkcs8      bool
	mutate     []func(*x509.Certificate)
	commonName string
}

// Option changes a certificate made by NewCA, Issue, IssueServer or SelfSigned.
type Option func(*config)

// WithOU sets the subject OrganizationalUnit values.
func WithOU(ous ...string) Option { return func(c *config) { c.ous = ous } }

// WithValidity sets NotBefore and NotAfter.
func WithValidity(notBefore, notAfter time.Time) Option {
	return func(c *config) { c.notBefore, c.notAfter = notBefore, notAfter }
}

// WithExtKeyUsage replaces the extended key usages (none at all if empty).
func WithExtKeyUsage(ekus ...x509.ExtKeyUsage) Option {
	return func(c *config) { c.ekus, c.ekusSet = ekus, true }
}

// WithKeyUsage replaces the key usage bits.
func WithKeyUsage(ku x509.KeyUsage) Option { return func(c *config) { c.keyUsage, c.kuSet = ku, true } }

// WithDNS adds DNS SANs.
func WithDNS(names ...string) Option { return func(c *config) { c.dns = append(c.dns, names...) } }

// WithIPs adds IP SANs.
func WithIPs(ips ...net.IP) Option { return func(c *config) { c.ips = append(c.ips, ips...) } }

// WithPKCS8 writes the private key as PKCS#8 "PRIVATE KEY" instead of SEC 1
// "EC PRIVATE KEY".
func WithPKCS8() Option { return func(c *config) { c.pkcs8 = true } }

// WithCommonName sets the CA's subject CommonName (NewCA only; default "docker-authz test CA").
func WithCommonName(cn string) Option { return func(c *config) { c.commonName = cn } }

// WithTemplate lets a test change the certificate template just before it is
// signed, for anything the other options do not cover.
func WithTemplate(f func(*x509.Certificate)) Option {
	return func(c *config) { c.mutate = append(c.mutate, f) }
}

func newConfig(opts []Option) *config {
	now := time.Now()
	c := &config{notBefore: now.Add(-time.Hour), notAfter: now.Add(7 * 24 * time.Hour)}
	for _, o := range opts {
		o(c)
	}
	return c
}

func serial(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		tb.Fatalf("identitytest: serial: %v", err)
	}
	return n.Add(n, big.NewInt(1))
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("identitytest: key: %v", err)
	}
	return k
}

func encodeKey(tb testing.TB, k *ecdsa.PrivateKey, pkcs8 bool) []byte {
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			tb.Fatalf("identitytest: key: %v", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		tb.Fatalf("identitytest: key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func sign(tb testing.TB, tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, []byte) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		tb.Fatalf("identitytest: sign: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("identitytest: parse: %v", err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// NewCA makes a self-signed root CA valid from an hour ago for ten years
// (WithValidity, WithCommonName, WithTemplate apply).
func NewCA(tb testing.TB, opts ...Option) *CA {
	tb.Helper()
	c := newConfig(append([]Option{WithValidity(time.Now().Add(-time.Hour), time.Now().AddDate(10, 0, 0))}, opts...))
	cn := c.commonName
	if cn == "" {
		cn = "docker-authz test CA"
	}
	key := newKey(tb)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(tb),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"docker-authz tests"}},
		NotBefore:             c.notBefore,
		NotAfter:              c.notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if c.ekusSet {
		tmpl.ExtKeyUsage = c.ekus
	}
	if c.kuSet {
		tmpl.KeyUsage = c.keyUsage
	}
	for _, f := range c.mutate {
		f(tmpl)
	}
	cert, certPEM := sign(tb, tmpl, tmpl, &key.PublicKey, key)
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: encodeKey(tb, key, c.pkcs8), tb: tb}
}

// Issue makes a client certificate for user cn in groups orgs (subject O),
// signed by ca: ExtKeyUsageClientAuth, KeyUsageDigitalSignature, valid from an
// hour ago for a week unless options say otherwise.
func (ca *CA) Issue(cn string, orgs []string, opts ...Option) (certPEM, keyPEM []byte) {
	ca.tb.Helper()
	return ca.issue(cn, orgs, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, opts)
}

// IssueServer makes a server certificate (for dockerd --tlscert) with CN
// "localhost", SANs DNS:localhost, IP:127.0.0.1 and IP:::1, and
// ExtKeyUsageServerAuth.
func (ca *CA) IssueServer(opts ...Option) (certPEM, keyPEM []byte) {
	ca.tb.Helper()
	base := []Option{WithDNS("localhost"), WithIPs(net.IPv4(127, 0, 0, 1), net.IPv6loopback)}
	return ca.issue("localhost", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, append(base, opts...))
}

// IssueCA makes an intermediate CA signed by ca.
func (ca *CA) IssueCA(cn string, opts ...Option) *CA {
	ca.tb.Helper()
	c := newConfig(opts)
	key := newKey(ca.tb)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(ca.tb),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             c.notBefore,
		NotAfter:              c.notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, f := range c.mutate {
		f(tmpl)
	}
	cert, certPEM := sign(ca.tb, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: encodeKey(ca.tb, key, c.pkcs8), tb: ca.tb}
}

func (ca *CA) issue(cn string, orgs []string, ekus []x509.ExtKeyUsage, opts []Option) ([]byte, []byte) {
	c := newConfig(opts)
	key := newKey(ca.tb)
	tmpl := leafTemplate(ca.tb, cn, orgs, ekus, c)
	_, certPEM := sign(ca.tb, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	return certPEM, encodeKey(ca.tb, key, c.pkcs8)
}

func leafTemplate(tb testing.TB, cn string, orgs []string, ekus []x509.ExtKeyUsage, c *config) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb),
		Subject: pkix.Name{
			CommonName:         cn,
			Organization:       orgs,
			OrganizationalUnit: c.ous,
		},
		NotBefore:             c.notBefore,
		NotAfter:              c.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           ekus,
		BasicConstraintsValid: true,
		DNSNames:              c.dns,
		IPAddresses:           c.ips,
	}
	if c.ekusSet {
		tmpl.ExtKeyUsage = c.ekus
	}
	if c.kuSet {
		tmpl.KeyUsage = c.keyUsage
	}
	for _, f := range c.mutate {
		f(tmpl)
	}
	return tmpl
}

// SelfSigned makes a self-signed client certificate (not a CA) for cn and
// orgs: the kind of certificate an attacker appends to a real chain.
func SelfSigned(tb testing.TB, cn string, orgs []string, opts ...Option) (certPEM, keyPEM []byte) {
	tb.Helper()
	c := newConfig(opts)
	key := newKey(tb)
	tmpl := leafTemplate(tb, cn, orgs, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, c)
	_, certPEM = sign(tb, tmpl, tmpl, &key.PublicKey, key)
	return certPEM, encodeKey(tb, key, c.pkcs8)
}

// WriteFile writes data to path with mode 0600, failing the test on error.
func WriteFile(tb testing.TB, path string, data []byte) string {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatalf("identitytest: %v", err)
	}
	return path
}

// WriteCA writes the CA certificate to dir/ca.pem and returns the path.
func (ca *CA) WriteCA(dir string) string {
	ca.tb.Helper()
	return WriteFile(ca.tb, filepath.Join(dir, "ca.pem"), ca.CertPEM)
}

// WriteClientDir makes dir (if needed) and fills it the way the docker CLI
// expects for --tlsverify with DOCKER_CERT_PATH=dir: ca.pem (this CA),
// cert.pem and key.pem (a client certificate for cn in groups orgs).
func (ca *CA) WriteClientDir(dir, cn string, orgs []string, opts ...Option) string {
	ca.tb.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ca.tb.Fatalf("identitytest: %v", err)
	}
	certPEM, keyPEM := ca.Issue(cn, orgs, opts...)
	ca.WriteCA(dir)
	WriteFile(ca.tb, filepath.Join(dir, "cert.pem"), certPEM)
	WriteFile(ca.tb, filepath.Join(dir, "key.pem"), keyPEM)
	return dir
}

// WriteServerDir makes dir (if needed) and writes ca.pem, server-cert.pem and
// server-key.pem for dockerd's --tlscacert, --tlscert and --tlskey. It returns
// the three paths in that order.
func (ca *CA) WriteServerDir(dir string, opts ...Option) (caPath, certPath, keyPath string) {
	ca.tb.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		ca.tb.Fatalf("identitytest: %v", err)
	}
	certPEM, keyPEM := ca.IssueServer(opts...)
	caPath = ca.WriteCA(dir)
	certPath = WriteFile(ca.tb, filepath.Join(dir, "server-cert.pem"), certPEM)
	keyPath = WriteFile(ca.tb, filepath.Join(dir, "server-key.pem"), keyPEM)
	return caPath, certPath, keyPath
}

// ParseCert decodes one PEM certificate, failing the test on error.
func ParseCert(tb testing.TB, certPEM []byte) *x509.Certificate {
	tb.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		tb.Fatalf("identitytest: no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		tb.Fatalf("identitytest: %v", err)
	}
	return c
}
