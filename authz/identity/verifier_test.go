package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
)

// fixture is one test CA, a verifier trusting it and a fixed clock.
type fixture struct {
	ca  *identitytest.CA
	now time.Time
	v   *Verifier
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{ca: identitytest.NewCA(t), now: time.Now()}
	if cfg.ClientCAs == nil && cfg.ClientCAFile == "" {
		cfg.ClientCAs = []*x509.Certificate{f.ca.Cert}
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return f.now }
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	f.v = v
	return f
}

// signRaw signs tmpl with the CA without parsing the result (for certificates
// that Go itself refuses to parse).
func signRaw(t testing.TB, ca *identitytest.CA, tmpl *x509.Certificate) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func certOf(t testing.TB, p []byte) *x509.Certificate { return identitytest.ParseCert(t, p) }

func issued(p, _ []byte) []byte { return p }

func extraNames(atvs ...pkix.AttributeTypeAndValue) identitytest.Option {
	return identitytest.WithTemplate(func(c *x509.Certificate) {
		c.Subject.CommonName = ""
		c.Subject.ExtraNames = atvs
	})
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
)

func TestIdentify(t *testing.T) {
	f := newFixture(t, Config{})
	ca := f.ca
	now := f.now
	other := identitytest.NewCA(t, identitytest.WithCommonName("other CA"))

	alice := issued(ca.Issue("alice", []string{"developers"}, identitytest.WithOU("ci")))
	aliceCert := certOf(t, alice)
	aliceFP := sha256.Sum256(aliceCert.Raw)
	forged := issued(identitytest.SelfSigned(t, "root", []string{"admins"}))
	forgedAlice := issued(identitytest.SelfSigned(t, "alice", []string{"admins"}))
	inter := ca.IssueCA("intermediate CA")
	viaInter := issued(inter.Issue("carol", []string{"developers"}))
	long := strings.Repeat("a", 128)
	nonStringO := signRaw(t, ca, &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidCN, Value: "alice"}, {Type: oidO, Value: 42}}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})

	wantAlice := Subject{
		User:        "alice",
		Groups:      []string{"group:ci", "group:developers"},
		AuthMethod:  "tls",
		Fingerprint: hex.EncodeToString(aliceFP[:]),
		Serial:      aliceCert.SerialNumber.Text(16),
		Issuer:      "docker-authz test CA",
	}

	tests := []struct {
		name    string
		in      Input
		want    *Subject // checked in full when set
		user    string   // else: checked when set
		groups  []string
		wantErr error
		msg     string // substring of the error text
	}{
		{name: "valid leaf", in: Input{PeerCerts: [][]byte{alice}}, want: &wantAlice},
		{name: "valid leaf with dockerd's User and TLS", in: Input{User: "alice", AuthMethod: "TLS", PeerCerts: [][]byte{alice}}, want: &wantAlice},
		{name: "auth method case-insensitive", in: Input{User: "alice", AuthMethod: "tls", PeerCerts: [][]byte{alice}}, want: &wantAlice},
		{name: "surrounding whitespace", in: Input{PeerCerts: [][]byte{append(append([]byte("\n  "), alice...), "\r\n\n"...)}}, want: &wantAlice},
		{name: "groups deduplicated and sorted",
			in:     Input{PeerCerts: [][]byte{issued(ca.Issue("bob", []string{"zeta", "admins", "zeta"}, identitytest.WithOU("admins", "Build Team")))}},
			user:   "bob",
			groups: []string{"group:Build Team", "group:admins", "group:zeta"}},
		{name: "no groups", in: Input{PeerCerts: [][]byte{issued(ca.Issue("dave", nil))}}, user: "dave", groups: nil},
		{name: "128-character CN", in: Input{PeerCerts: [][]byte{issued(ca.Issue(long, nil))}}, user: long},
		{name: "CN with allowed punctuation", in: Input{PeerCerts: [][]byte{issued(ca.Issue("ci-bot.build_1+x@example.org", nil))}}, user: "ci-bot.build_1+x@example.org"},

		// Certificates after the leaf never matter.
		{name: "forged cert appended", in: Input{User: "alice", AuthMethod: "TLS", PeerCerts: [][]byte{alice, forged}}, want: &wantAlice},
		{name: "forged alice appended", in: Input{PeerCerts: [][]byte{alice, forgedAlice, forged}}, want: &wantAlice},
		{name: "garbage appended", in: Input{PeerCerts: [][]byte{alice, []byte("garbage")}}, want: &wantAlice},
		{name: "CA cert appended", in: Input{PeerCerts: [][]byte{alice, ca.CertPEM}}, want: &wantAlice},
		{name: "forged leaf before valid cert", in: Input{User: "root", PeerCerts: [][]byte{forged, alice}}, wantErr: ErrUntrusted},
		{name: "intermediate appended is not used", in: Input{PeerCerts: [][]byte{viaInter, inter.CertPEM}}, wantErr: ErrUntrusted, msg: "not signed by a CA in --client-ca"},

		// Trust and validity.
		{name: "expired",
			in:      Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithValidity(now.Add(-48*time.Hour), now.Add(-time.Second))))}},
			wantErr: ErrExpired, msg: `client certificate for "alice" expired at`},
		{name: "not yet valid",
			in:      Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithValidity(now.Add(time.Minute), now.Add(48*time.Hour))))}},
			wantErr: ErrNotYetValid, msg: "not valid before"},
		{name: "signed by another CA", in: Input{PeerCerts: [][]byte{issued(other.Issue("alice", []string{"admins"}))}}, wantErr: ErrUntrusted, msg: "not signed by a CA in --client-ca"},
		{name: "self-signed leaf", in: Input{PeerCerts: [][]byte{forgedAlice}}, wantErr: ErrUntrusted},
		{name: "the CA itself as leaf", in: Input{PeerCerts: [][]byte{ca.CertPEM}}, wantErr: ErrBadName}, // its CN has spaces; see CA:TRUE below
		{name: "leaf claiming CA:TRUE",
			in:      Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithTemplate(func(c *x509.Certificate) { c.IsCA = true })))}},
			wantErr: ErrUsage, msg: "is a CA certificate"},
		{name: "server-auth-only EKU",
			in:      Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithExtKeyUsage(x509.ExtKeyUsageServerAuth)))}},
			wantErr: ErrUsage, msg: "clientAuth"},
		{name: "server certificate", in: Input{PeerCerts: [][]byte{issued(ca.IssueServer())}}, wantErr: ErrUsage},
		{name: "no EKU", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithExtKeyUsage()))}}, wantErr: ErrUsage},
		{name: "any EKU", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithExtKeyUsage(x509.ExtKeyUsageAny)))}}, wantErr: ErrUsage},
		{name: "key usage without digitalSignature",
			in:      Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithKeyUsage(x509.KeyUsageKeyEncipherment)))}},
			wantErr: ErrUsage, msg: "digitalSignature"},

		// Request fields that disagree with the certificate.
		{name: "User/CN mismatch", in: Input{User: "bob", AuthMethod: "TLS", PeerCerts: [][]byte{alice}}, wantErr: ErrUserMismatch, msg: `"bob"`},
		{name: "User matches forged appended cert", in: Input{User: "root", PeerCerts: [][]byte{alice, forged}}, wantErr: ErrUserMismatch},
		{name: "AuthMethod mismatch", in: Input{User: "alice", AuthMethod: "password", PeerCerts: [][]byte{alice}}, wantErr: ErrAuthMethod, msg: `"password"`},

		// Malformed entries.
		{name: "garbage", in: Input{PeerCerts: [][]byte{[]byte("not a certificate")}}, wantErr: ErrMalformed},
		{name: "empty entry", in: Input{PeerCerts: [][]byte{nil}}, wantErr: ErrMalformed},
		{name: "DER instead of PEM", in: Input{PeerCerts: [][]byte{aliceCert.Raw}}, wantErr: ErrMalformed},
		{name: "garbage in PEM block",
			in:      Input{PeerCerts: [][]byte{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})}},
			wantErr: ErrMalformed, msg: "does not parse"},
		{name: "DER with trailing bytes",
			in:      Input{PeerCerts: [][]byte{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: append(append([]byte{}, aliceCert.Raw...), 0)})}},
			wantErr: ErrMalformed},
		{name: "unterminated PEM", in: Input{PeerCerts: [][]byte{alice[:len(alice)-20]}}, wantErr: ErrMalformed},
		{name: "wrong PEM type",
			in:      Input{PeerCerts: [][]byte{pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: aliceCert.Raw})}},
			wantErr: ErrMalformed, msg: "not CERTIFICATE"},
		{name: "PEM headers",
			in:      Input{PeerCerts: [][]byte{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"X": "y"}, Bytes: aliceCert.Raw})}},
			wantErr: ErrMalformed},
		{name: "two PEM blocks in one entry", in: Input{PeerCerts: [][]byte{append(append([]byte{}, alice...), forged...)}}, wantErr: ErrMalformed, msg: "more than one"},
		{name: "forged block first in one entry", in: Input{PeerCerts: [][]byte{append(append([]byte{}, forged...), alice...)}}, wantErr: ErrMalformed},
		{name: "trailing garbage", in: Input{PeerCerts: [][]byte{append(append([]byte{}, alice...), "trailing"...)}}, wantErr: ErrMalformed, msg: "trailing data"},
		{name: "leading garbage", in: Input{PeerCerts: [][]byte{append([]byte("x\n"), alice...)}}, wantErr: ErrMalformed},
		{name: "oversized entry", in: Input{PeerCerts: [][]byte{append(append([]byte{}, alice...), make([]byte, MaxCertificateSize)...)}}, wantErr: ErrMalformed, msg: "larger than"},

		// Names that must not become identities.
		{name: "CN group:admins", in: Input{PeerCerts: [][]byte{issued(ca.Issue("group:admins", nil))}}, wantErr: ErrBadName, msg: `"group:admins"`},
		{name: "CN role:admin", in: Input{PeerCerts: [][]byte{issued(ca.Issue("role:admin", nil))}}, wantErr: ErrBadName},
		{name: "CN *", in: Input{PeerCerts: [][]byte{issued(ca.Issue("*", nil))}}, wantErr: ErrBadName},
		{name: "no CN", in: Input{PeerCerts: [][]byte{issued(ca.Issue("", []string{"admins"}))}}, wantErr: ErrBadName, msg: "no subject CommonName"},
		{name: "empty CN attribute", in: Input{PeerCerts: [][]byte{issued(ca.Issue("", nil, extraNames(pkix.AttributeTypeAndValue{Type: oidCN, Value: ""})))}}, wantErr: ErrBadName},
		{name: "two CNs",
			in:      Input{PeerCerts: [][]byte{issued(ca.Issue("", nil, extraNames(pkix.AttributeTypeAndValue{Type: oidCN, Value: "alice"}, pkix.AttributeTypeAndValue{Type: oidCN, Value: "root"})))}},
			wantErr: ErrBadName, msg: "2 CommonNames"},
		{name: "CN newline", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice\nroot", nil))}}, wantErr: ErrBadName, msg: `"alice\nroot"`},
		{name: "CN NUL", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice\x00", nil))}}, wantErr: ErrBadName},
		{name: "CN escape", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice\x1b[2J", nil))}}, wantErr: ErrBadName},
		{name: "CN space", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice smith", nil))}}, wantErr: ErrBadName},
		{name: "CN leading dash", in: Input{PeerCerts: [][]byte{issued(ca.Issue("-alice", nil))}}, wantErr: ErrBadName},
		{name: "CN comma", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice,admins", nil))}}, wantErr: ErrBadName},
		{name: "CN non-ASCII", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alíce", nil))}}, wantErr: ErrBadName},
		{name: "CN 129 characters", in: Input{PeerCerts: [][]byte{issued(ca.Issue(long+"a", nil))}}, wantErr: ErrBadName},
		{name: "CN anonymous", in: Input{PeerCerts: [][]byte{issued(ca.Issue(Anonymous, nil))}}, wantErr: ErrBadName, msg: "reserved"},
		{name: "O with colon", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{"developers", "group:admins"}))}}, wantErr: ErrBadName, msg: `"group:admins"`},
		{name: "O with comma", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{"admins,root"}))}}, wantErr: ErrBadName},
		{name: "O empty", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{""}))}}, wantErr: ErrBadName},
		{name: "O leading space", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{" admins"}))}}, wantErr: ErrBadName},
		{name: "O trailing space", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{"admins "}))}}, wantErr: ErrBadName},
		{name: "O control char", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{"admins\n"}))}}, wantErr: ErrBadName},
		{name: "O *", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{"*"}))}}, wantErr: ErrBadName},
		{name: "OU bad", in: Input{PeerCerts: [][]byte{issued(ca.Issue("alice", []string{"developers"}, identitytest.WithOU("x/y")))}}, wantErr: ErrBadName},
		{name: "O not a string", in: Input{PeerCerts: [][]byte{nonStringO}}, wantErr: ErrMalformed}, // Go refuses to parse it

		// Without certificates.
		{name: "no cert, anonymous", in: Input{}, want: &Subject{User: Anonymous, AuthMethod: "none"}},
		{name: "no cert, empty list", in: Input{PeerCerts: [][]byte{}}, want: &Subject{User: Anonymous, AuthMethod: "none"}},
		{name: "user claimed without cert", in: Input{User: "alice"}, wantErr: ErrUserWithoutCert, msg: `"alice"`},
		{name: "TLS claimed without cert", in: Input{AuthMethod: "TLS"}, wantErr: ErrAuthMethod},
	}

	for _, cached := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/cached=%v", tt.name, cached), func(t *testing.T) {
				if !cached {
					f.v.mu.Lock()
					clear(f.v.cache)
					f.v.mu.Unlock()
				}
				got, err := f.v.Identify(tt.in)
				if tt.wantErr != nil {
					if err == nil {
						t.Fatalf("got %+v, want error %v", got, tt.wantErr)
					}
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("error %q is not %v", err, tt.wantErr)
					}
					if !strings.Contains(err.Error(), tt.msg) {
						t.Fatalf("error %q does not contain %q", err, tt.msg)
					}
					if !reflect.DeepEqual(got, Subject{}) {
						t.Fatalf("error came with a non-zero subject %+v", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.want != nil && !reflect.DeepEqual(got, *tt.want) {
					t.Fatalf("got  %+v\nwant %+v", got, *tt.want)
				}
				if tt.want == nil {
					if tt.user != "" && got.User != tt.user {
						t.Fatalf("user = %q, want %q", got.User, tt.user)
					}
					if !reflect.DeepEqual(got.Groups, tt.groups) {
						t.Fatalf("groups = %q, want %q", got.Groups, tt.groups)
					}
					if got.AuthMethod != "tls" || len(got.Fingerprint) != 64 || got.Serial == "" {
						t.Fatalf("incomplete subject %+v", got)
					}
				}
			})
		}
	}
}

func TestLocalUser(t *testing.T) {
	f := newFixture(t, Config{LocalUser: "root"})
	got, err := f.v.Identify(Input{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Subject{User: "root", AuthMethod: "local"}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := f.v.Identify(Input{User: "root"}); !errors.Is(err, ErrUserWithoutCert) {
		t.Fatalf("user claimed without cert: err = %v", err)
	}
	// A certificate still wins over the local user.
	got, err = f.v.Identify(Input{PeerCerts: [][]byte{issued(f.ca.Issue("alice", nil))}})
	if err != nil || got.User != "alice" || got.AuthMethod != "tls" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestNoClientCA(t *testing.T) {
	ca := identitytest.NewCA(t)
	for _, cfg := range []Config{{}, {LocalUser: "root"}} {
		v, err := NewVerifier(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if v.HasClientCA() {
			t.Fatal("HasClientCA with no CA configured")
		}
		_, err = v.Identify(Input{User: "alice", AuthMethod: "TLS", PeerCerts: [][]byte{issued(ca.Issue("alice", nil))}})
		if !errors.Is(err, ErrNoClientCA) || !strings.Contains(err.Error(), "--client-ca") {
			t.Fatalf("err = %v", err)
		}
		if got, err := v.Identify(Input{}); err != nil || got.User == "" {
			t.Fatalf("no cert: %+v, %v", got, err)
		}
	}
}

// TestDockerdWireFormat feeds the certificates the way dockerd sends them:
// each a JSON string holding base64 of the PEM, decoded by encoding/json into
// []byte.
func TestDockerdWireFormat(t *testing.T) {
	f := newFixture(t, Config{})
	alice := issued(f.ca.Issue("alice", []string{"developers"}))
	forged := issued(identitytest.SelfSigned(t, "root", []string{"admins"}))
	wire, err := json.Marshal(map[string]any{
		"User":                    "alice",
		"UserAuthNMethod":         "TLS",
		"RequestPeerCertificates": []json.RawMessage{mustJSON(t, alice), mustJSON(t, forged)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		User                    string
		UserAuthNMethod         string
		RequestPeerCertificates [][]byte
	}
	if err := json.Unmarshal(wire, &req); err != nil {
		t.Fatal(err)
	}
	got, err := f.v.Identify(Input{User: req.User, AuthMethod: req.UserAuthNMethod, PeerCerts: req.RequestPeerCertificates})
	if err != nil {
		t.Fatal(err)
	}
	if got.User != "alice" || !reflect.DeepEqual(got.Groups, []string{"group:developers"}) {
		t.Fatalf("got %+v", got)
	}
}

func mustJSON(t *testing.T, pemBytes []byte) json.RawMessage {
	// dockerd: json.Marshal(pem.EncodeToMemory(...)), a base64 JSON string.
	b, err := json.Marshal(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIntermediateInBundle(t *testing.T) {
	root := identitytest.NewCA(t)
	inter := root.IssueCA("intermediate CA")
	leaf := issued(inter.Issue("carol", []string{"ops"}))

	// Only the root configured: the intermediate the client sends is ignored.
	v, err := NewVerifier(Config{ClientCAs: []*x509.Certificate{root.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Identify(Input{PeerCerts: [][]byte{leaf, inter.CertPEM}}); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("err = %v, want ErrUntrusted", err)
	}
	// The intermediate in the bundle: trusted.
	v, err = NewVerifier(Config{ClientCAs: []*x509.Certificate{root.Cert, inter.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Identify(Input{PeerCerts: [][]byte{leaf}})
	if err != nil || got.User != "carol" || got.Issuer != "intermediate CA" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestCAWithoutClientAuth(t *testing.T) {
	ca := identitytest.NewCA(t, identitytest.WithExtKeyUsage(x509.ExtKeyUsageServerAuth))
	v, err := NewVerifier(Config{ClientCAs: []*x509.Certificate{ca.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Identify(Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil))}})
	if !errors.Is(err, ErrUsage) {
		t.Fatalf("err = %v, want ErrUsage", err)
	}
}

func TestCacheRechecksValidity(t *testing.T) {
	f := newFixture(t, Config{})
	start := f.now
	leaf := issued(f.ca.Issue("alice", nil, identitytest.WithValidity(start.Add(-time.Hour), start.Add(time.Hour))))
	in := Input{PeerCerts: [][]byte{leaf}}
	if _, err := f.v.Identify(in); err != nil {
		t.Fatal(err)
	}
	if f.v.cacheLen() != 1 {
		t.Fatalf("cache has %d entries, want 1", f.v.cacheLen())
	}
	if _, err := f.v.Identify(in); err != nil {
		t.Fatalf("cached: %v", err)
	}
	f.now = start.Add(time.Hour + time.Second)
	if _, err := f.v.Identify(in); !errors.Is(err, ErrExpired) {
		t.Fatalf("after expiry: err = %v, want ErrExpired", err)
	}
	f.now = start.Add(-time.Hour - time.Second)
	if _, err := f.v.Identify(in); !errors.Is(err, ErrNotYetValid) {
		t.Fatalf("before validity: err = %v, want ErrNotYetValid", err)
	}
	f.now = start
	if _, err := f.v.Identify(in); err != nil {
		t.Fatalf("back in window: %v", err)
	}
}

func TestCacheRechecksCAValidity(t *testing.T) {
	start := time.Now()
	ca := identitytest.NewCA(t, identitytest.WithValidity(start.Add(-time.Hour), start.Add(time.Hour)))
	now := start
	v, err := NewVerifier(Config{ClientCAs: []*x509.Certificate{ca.Cert}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// The leaf outlives its CA.
	in := Input{PeerCerts: [][]byte{issued(ca.Issue("alice", nil, identitytest.WithValidity(start.Add(-time.Hour), start.Add(48*time.Hour))))}}
	if _, err := v.Identify(in); err != nil {
		t.Fatal(err)
	}
	now = start.Add(2 * time.Hour)
	_, err = v.Identify(in)
	if err == nil {
		t.Fatal("accepted a leaf whose CA expired (served from cache)")
	}
	if !errors.Is(err, ErrExpired) && !errors.Is(err, ErrUntrusted) {
		t.Fatalf("err = %v", err)
	}
}

func TestCacheDoesNotLeakRequestFields(t *testing.T) {
	f := newFixture(t, Config{})
	leaf := issued(f.ca.Issue("alice", []string{"developers"}))
	got, err := f.v.Identify(Input{User: "alice", PeerCerts: [][]byte{leaf}})
	if err != nil {
		t.Fatal(err)
	}
	got.Groups[0] = "group:admins" // a caller scribbling on its copy
	if _, err := f.v.Identify(Input{User: "bob", PeerCerts: [][]byte{leaf}}); !errors.Is(err, ErrUserMismatch) {
		t.Fatalf("cached: err = %v, want ErrUserMismatch", err)
	}
	if _, err := f.v.Identify(Input{AuthMethod: "none", PeerCerts: [][]byte{leaf}}); !errors.Is(err, ErrAuthMethod) {
		t.Fatalf("cached: err = %v, want ErrAuthMethod", err)
	}
	again, err := f.v.Identify(Input{PeerCerts: [][]byte{leaf}})
	if err != nil || !reflect.DeepEqual(again.Groups, []string{"group:developers"}) {
		t.Fatalf("got %+v, %v", again, err)
	}
}

func TestCacheNeverStoresFailures(t *testing.T) {
	f := newFixture(t, Config{})
	start := f.now
	bad := [][]byte{
		issued(f.ca.Issue("alice", nil, identitytest.WithValidity(start.Add(time.Hour), start.Add(2*time.Hour)))),
		issued(identitytest.SelfSigned(t, "alice", nil)),
		issued(f.ca.Issue("group:x", nil)),
	}
	for i, p := range bad {
		for range 2 {
			if _, err := f.v.Identify(Input{PeerCerts: [][]byte{p}}); err == nil {
				t.Fatalf("bad cert %d accepted", i)
			}
		}
	}
	if n := f.v.cacheLen(); n != 0 {
		t.Fatalf("cache has %d entries after failures only", n)
	}
	// The not-yet-valid one becomes valid when its time comes.
	f.now = start.Add(90 * time.Minute)
	if _, err := f.v.Identify(Input{PeerCerts: [][]byte{bad[0]}}); err != nil {
		t.Fatal(err)
	}
}

func TestCacheBounded(t *testing.T) {
	f := newFixture(t, Config{CacheSize: 3})
	var certs [][]byte
	for i := range 8 {
		certs = append(certs, issued(f.ca.Issue(fmt.Sprintf("user%d", i), []string{fmt.Sprintf("g%d", i)})))
	}
	for round := range 2 {
		for i, c := range certs {
			got, err := f.v.Identify(Input{PeerCerts: [][]byte{c}})
			if err != nil {
				t.Fatal(err)
			}
			if got.User != fmt.Sprintf("user%d", i) || got.Groups[0] != fmt.Sprintf("group:g%d", i) {
				t.Fatalf("round %d cert %d: got %+v", round, i, got)
			}
			if n := f.v.cacheLen(); n > 3 {
				t.Fatalf("cache has %d entries, bound is 3", n)
			}
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	f := newFixture(t, Config{CacheSize: -1})
	leaf := issued(f.ca.Issue("alice", nil))
	for range 2 {
		if got, err := f.v.Identify(Input{PeerCerts: [][]byte{leaf}}); err != nil || got.User != "alice" {
			t.Fatalf("got %+v, %v", got, err)
		}
	}
	if n := f.v.cacheLen(); n != 0 {
		t.Fatalf("disabled cache has %d entries", n)
	}
}

func TestConcurrent(t *testing.T) {
	f := newFixture(t, Config{CacheSize: 4})
	var certs [][]byte
	for i := range 6 {
		certs = append(certs, issued(f.ca.Issue(fmt.Sprintf("user%d", i), nil)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				n := (g + i) % len(certs)
				got, err := f.v.Identify(Input{User: fmt.Sprintf("user%d", n), PeerCerts: [][]byte{certs[n]}})
				if err != nil || got.User != fmt.Sprintf("user%d", n) {
					errs <- fmt.Errorf("got %+v, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	ca := identitytest.NewCA(t)
	other := identitytest.NewCA(t)
	leaf := issued(ca.Issue("alice", nil))
	_, keyPEM := ca.Issue("bob", nil)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		return identitytest.WriteFile(t, filepath.Join(dir, name), data)
	}
	tests := []struct {
		name string
		cfg  Config
		msg  string // "" = must succeed
	}{
		{name: "missing file", cfg: Config{ClientCAFile: filepath.Join(dir, "nope.pem")}, msg: "does not exist"},
		{name: "directory", cfg: Config{ClientCAFile: dir}, msg: "client CA file"},
		{name: "empty file", cfg: Config{ClientCAFile: write("empty.pem", nil)}, msg: "no CERTIFICATE PEM block"},
		{name: "not PEM", cfg: Config{ClientCAFile: write("text.pem", []byte("hello\n"))}, msg: "no CERTIFICATE PEM block"},
		{name: "unparseable block", cfg: Config{ClientCAFile: write("bad.pem", append(append([]byte{}, ca.CertPEM...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})...))}, msg: "certificate 2 does not parse"},
		{name: "leaf in bundle", cfg: Config{ClientCAFile: write("leaf.pem", append(append([]byte{}, ca.CertPEM...), leaf...))}, msg: "certificate 2 (subject \"CN=alice\""},
		{name: "private key in bundle", cfg: Config{ClientCAFile: write("key.pem", append(append([]byte{}, ca.CertPEM...), keyPEM...))}, msg: `PEM block 2 is a "EC PRIVATE KEY", not a CERTIFICATE`},
		{name: "CA without certSign", cfg: Config{ClientCAs: []*x509.Certificate{identitytest.NewCA(t, identitytest.WithKeyUsage(x509.KeyUsageDigitalSignature)).Cert}}, msg: "keyCertSign"},
		{name: "leaf in ClientCAs", cfg: Config{ClientCAs: []*x509.Certificate{certOf(t, leaf)}}, msg: "not a CA"},
		{name: "empty ClientCAs", cfg: Config{ClientCAs: []*x509.Certificate{}}, msg: "empty"},
		{name: "nil in ClientCAs", cfg: Config{ClientCAs: []*x509.Certificate{nil}}, msg: "nil"},
		{name: "bad local user", cfg: Config{LocalUser: "group:admins"}, msg: "local user \"group:admins\" is not a valid user name"},
		{name: "local user *", cfg: Config{LocalUser: "*"}, msg: "not a valid user name"},
		{name: "local user control char", cfg: Config{LocalUser: "root\n"}, msg: "not a valid user name"},
		{name: "ok: bundle of two with text", cfg: Config{ClientCAFile: write("two.pem", []byte("subject=CN = one\n"+string(ca.CertPEM)+"# second\n"+string(other.CertPEM)))}},
		{name: "ok: nothing", cfg: Config{}},
		{name: "ok: local user", cfg: Config{LocalUser: "root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.cfg)
			if tt.msg == "" {
				if err != nil || v == nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("NewVerifier succeeded, want error containing %q", tt.msg)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not contain %q", err, tt.msg)
			}
			if v != nil {
				t.Fatal("verifier returned with an error")
			}
			if strings.Contains(err.Error(), strings.Split(string(keyPEM), "\n")[1]) {
				t.Fatal("error leaks private key material")
			}
		})
	}

	// The two-CA bundle trusts both CAs.
	path := filepath.Join(dir, "two.pem")
	v, err := NewVerifier(Config{ClientCAFile: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*identitytest.CA{ca, other} {
		if _, err := v.Identify(Input{PeerCerts: [][]byte{issued(c.Issue("alice", nil))}}); err != nil {
			t.Fatalf("CA %s: %v", c.Cert.Subject.CommonName, err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestPrincipals(t *testing.T) {
	if p := (Subject{}).Principals(); p != nil {
		t.Fatalf("zero subject principals = %q", p)
	}
	s := Subject{User: "alice", Groups: []string{"group:a", "group:b"}}
	if p := s.Principals(); !reflect.DeepEqual(p, []string{"alice", "group:a", "group:b"}) {
		t.Fatalf("principals = %q", p)
	}
}

func BenchmarkIdentify(b *testing.B) {
	ca := identitytest.NewCA(b)
	leaf := issued(ca.Issue("alice", []string{"developers"}, identitytest.WithOU("ci")))
	forged := issued(identitytest.SelfSigned(b, "root", []string{"admins"}))
	in := Input{User: "alice", AuthMethod: "TLS", PeerCerts: [][]byte{leaf, forged}}
	for _, bc := range []struct {
		name string
		size int
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			v, err := NewVerifier(Config{ClientCAs: []*x509.Certificate{ca.Cert}, CacheSize: bc.size})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Identify(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
