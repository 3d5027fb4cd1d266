package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a throw-away certificate authority with the certificates a
// benchmark run needs, written under Dir.
type PKI struct {
	Dir        string
	CAFile     string // CA certificate (PEM): --client-ca and dockerd --tlscacert
	ServerCert string // dockerd --tlscert (SANs 127.0.0.1, ::1, localhost)
	ServerKey  string
	Users      map[string]UserCert // "alice" (O=developers), "root-admin" (O=admins)
}

// UserCert is a client certificate and its key.
type UserCert struct {
	CertFile, KeyFile string
	CertPEM           []byte
}

// Caller returns the user as dockerd reports it to a plugin.
func (u UserCert) Caller(name string) Caller { return Caller{User: name, CertPEM: u.CertPEM} }

// NewPKI makes an ECDSA P-256 CA valid for a day and issues the server and
// user certificates, all written under dir.
func NewPKI(dir string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "docker-authz bench CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &PKI{Dir: dir, Users: map[string]UserCert{}}
	if p.CAFile, err = writePEM(filepath.Join(dir, "ca.pem"), "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	issue := func(name string, tmpl *x509.Certificate) (UserCert, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return UserCert{}, err
		}
		tmpl.SerialNumber = serial()
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return UserCert{}, err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return UserCert{}, err
		}
		u := UserCert{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
		if u.CertFile, err = writePEM(filepath.Join(dir, name+"-cert.pem"), "CERTIFICATE", der); err != nil {
			return UserCert{}, err
		}
		if u.KeyFile, err = writePEM(filepath.Join(dir, name+"-key.pem"), "EC PRIVATE KEY", kder); err != nil {
			return UserCert{}, err
		}
		return u, nil
	}
	srv, err := issue("server", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	})
	if err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	p.ServerCert, p.ServerKey = srv.CertFile, srv.KeyFile
	for name, org := range map[string]string{"alice": "developers", "root-admin": "admins"} {
		u, err := issue(name, &x509.Certificate{
			Subject:     pkix.Name{CommonName: name, Organization: []string{org}},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return nil, fmt.Errorf("certificate of %s: %w", name, err)
		}
		p.Users[name] = u
	}
	return p, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func writePEM(path, typ string, der []byte) (string, error) {
	return path, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
