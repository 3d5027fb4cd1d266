package identitytest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestTLSHandshake proves the issued certificates work as a real TLS client
// and server pair (what the docker CLI and dockerd will do with them), with
// both private key encodings.
func TestTLSHandshake(t *testing.T) {
	ca := NewCA(t)
	dir := t.TempDir()
	caPath, certPath, keyPath := ca.WriteServerDir(filepath.Join(dir, "server"))
	clientDir := ca.WriteClientDir(filepath.Join(dir, "alice"), "alice", []string{"developers"}, WithPKCS8())

	for _, name := range []string{"sec1", "pkcs8"} {
		t.Run(name, func(t *testing.T) {
			pool := x509.NewCertPool()
			caPEM, err := os.ReadFile(caPath)
			if err != nil {
				t.Fatal(err)
			}
			if !pool.AppendCertsFromPEM(caPEM) {
				t.Fatal("ca.pem has no certificate")
			}
			serverPair, err := tls.LoadX509KeyPair(certPath, keyPath)
			if err != nil {
				t.Fatal(err)
			}
			var clientPair tls.Certificate
			if name == "pkcs8" {
				clientPair, err = tls.LoadX509KeyPair(filepath.Join(clientDir, "cert.pem"), filepath.Join(clientDir, "key.pem"))
			} else {
				clientPair, err = tls.X509KeyPair(ca.Issue("bob", []string{"admins"}))
			}
			if err != nil {
				t.Fatal(err)
			}
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
				Certificates: []tls.Certificate{serverPair},
				ClientCAs:    pool,
				ClientAuth:   tls.RequireAndVerifyClientCert,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan string, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- "accept: " + err.Error()
					return
				}
				defer c.Close()
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					got <- "handshake: " + err.Error()
					return
				}
				got <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
				io.WriteString(c, "ok")
			}()
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
				RootCAs:      pool,
				Certificates: []tls.Certificate{clientPair},
				ServerName:   "localhost",
			})
			if err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			defer c.Close()
			want := "bob"
			if name == "pkcs8" {
				want = "alice"
			}
			if cn := <-got; cn != want {
				t.Fatalf("server saw %q, want %q", cn, want)
			}
			// The server certificate must also verify for the IP address.
			if err := c.ConnectionState().PeerCertificates[0].VerifyHostname("127.0.0.1"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeyEncodings(t *testing.T) {
	ca := NewCA(t)
	_, sec1 := ca.Issue("alice", nil)
	_, pkcs8 := ca.Issue("alice", nil, WithPKCS8())
	if string(sec1[:len("-----BEGIN EC PRIVATE KEY-----")]) != "-----BEGIN EC PRIVATE KEY-----" {
		t.Fatalf("default key is not SEC 1: %.40s", sec1)
	}
	if string(pkcs8[:len("-----BEGIN PRIVATE KEY-----")]) != "-----BEGIN PRIVATE KEY-----" {
		t.Fatalf("WithPKCS8 key is not PKCS#8: %.40s", pkcs8)
	}
}

func TestIssueFields(t *testing.T) {
	ca := NewCA(t)
	certPEM, _ := ca.Issue("alice", []string{"developers"}, WithOU("ci"))
	c := ParseCert(t, certPEM)
	if c.Subject.CommonName != "alice" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "developers" ||
		len(c.Subject.OrganizationalUnit) != 1 || c.Subject.OrganizationalUnit[0] != "ci" {
		t.Fatalf("subject = %v", c.Subject)
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("EKU = %v", c.ExtKeyUsage)
	}
	if c.IsCA {
		t.Fatal("client leaf is a CA")
	}
	srv := ParseCert(t, func() []byte { p, _ := ca.IssueServer(); return p }())
	if len(srv.ExtKeyUsage) != 1 || srv.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Fatalf("server EKU = %v", srv.ExtKeyUsage)
	}
	if err := srv.VerifyHostname("localhost"); err != nil {
		t.Fatal(err)
	}
	if !srv.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("server IPs = %v", srv.IPAddresses)
	}
}
