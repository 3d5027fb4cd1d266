package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
	"github.com/docker-authz/docker-authz/policy"
)

// fixture is the decision path as `docker-authz serve` builds it, for the
// example policy and alice (O=developers).
type fixture struct {
	ver   *identity.Verifier
	pol   *policy.Policy
	alice Caller
	dir   string
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	pki, err := NewPKI(filepath.Join(dir, "pki"))
	if err != nil {
		tb.Fatal(err)
	}
	ver, err := identity.NewVerifier(identity.Config{ClientCAFile: pki.CAFile})
	if err != nil {
		tb.Fatal(err)
	}
	pol, err := policy.LoadDir(filepath.Join("..", "..", "examples", "shared-build-host"))
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{ver: ver, pol: pol, alice: pki.Users["alice"].Caller("alice"), dir: dir}
}

// decide is the decision path of one AuthZReq without I/O: identity,
// normalisation, policy facets and the policy decision.
func (f *fixture) decide(c Call) (policy.Decision, error) {
	sub, err := f.ver.Identify(identity.Input{User: f.alice.User, AuthMethod: "TLS", PeerCerts: [][]byte{f.alice.CertPEM}})
	if err != nil {
		return policy.Decision{}, err
	}
	facts, err := request.Normalize(request.Raw{Method: c.Method, URI: c.URI, Headers: c.Headers, Body: c.Body})
	if err != nil {
		return policy.Decision{}, err
	}
	return f.pol.Authorize(sub, authz.PolicyFacets(facts)), nil
}

// TestMixAllowed: the benchmark only means something if every call of the
// mix is allowed for alice, as it would be on a real shared build host.
func TestMixAllowed(t *testing.T) {
	f := newFixture(t)
	for _, c := range Mix() {
		t.Run(c.Name, func(t *testing.T) {
			d, err := f.decide(c)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Allow {
				t.Fatalf("denied: %s", d.Reason)
			}
		})
	}
}

// TestCreateBodyIsTheCLIs: the create body is the docker CLI's, with its
// zero-valued fields and HostConfig.LogConfig, about 1.5 KiB or more.
func TestCreateBodyIsTheCLIs(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(CreateBody, &m); err != nil {
		t.Fatal(err)
	}
	hc, _ := m["HostConfig"].(map[string]any)
	if _, ok := hc["LogConfig"]; !ok || len(CreateBody) < 1500 || m["Image"] != "alpine:latest" {
		t.Fatalf("create body is not the captured CLI body (%d bytes)", len(CreateBody))
	}
}

// TestAllowAllSpeaksTheProtocol: the reference plugin activates as an authz
// plugin and allows both stages.
func TestAllowAllSpeaksTheProtocol(t *testing.T) {
	srv := httptest.NewServer(AllowAll())
	defer srv.Close()
	c, _ := Find("container-create")
	for path, body := range map[string][]byte{
		"/Plugin.Activate":      nil,
		"/AuthZPlugin.AuthZReq": c.AuthZReq(Caller{User: "alice", CertPEM: []byte("x")}),
		"/AuthZPlugin.AuthZRes": c.AuthZRes(Caller{}),
	} {
		res, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		want := `{"Allow":true}`
		if path == "/Plugin.Activate" {
			want = `{"Implements":["authz"]}`
		}
		if res.StatusCode != 200 || !bytes.Contains(b, []byte(want)) {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
	}
}

// BenchmarkDecisionPath is the target "decision path under 20 µs and 100
// allocations for container create": identity (cached verification),
// normalisation and policy, no I/O, no wire decoding.
func BenchmarkDecisionPath(b *testing.B) {
	f := newFixture(b)
	for _, c := range Mix() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d, err := f.decide(c)
				if err != nil || !d.Allow {
					b.Fatalf("not allowed: %v %s", err, d.Reason)
				}
			}
		})
	}
}

// BenchmarkServer is the whole plugin handler without the socket: wire
// decoding, the decision path, the audit record (JSON, hash chain) and the
// answer. The trail is on tmpfs when /dev/shm exists, so fsync costs next to
// nothing and what is left is CPU.
func BenchmarkServer(b *testing.B) {
	f := newFixture(b)
	dir := f.dir
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "authzbench-"); err == nil {
			dir = d
			b.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	trail, err := audit.Open(filepath.Join(dir, "audit.jsonl"), audit.Options{Host: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { trail.Close() })
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	srv := authz.NewServer(authz.Config{Identity: f.ver, Policy: authz.NewPolicyHolder(f.pol), Audit: trail, Log: quiet})
	h := srv.Handler()
	c, _ := Find("container-create")
	for _, stage := range []struct {
		name, path string
		body       []byte
	}{
		{"container-create/AuthZReq", "/AuthZPlugin.AuthZReq", c.AuthZReq(f.alice)},
		{"container-create/AuthZRes", "/AuthZPlugin.AuthZRes", c.AuthZRes(f.alice)},
	} {
		b.Run(stage.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", stage.path, bytes.NewReader(stage.body)))
				if !bytes.Contains(w.Body.Bytes(), []byte(`"Allow":true`)) {
					b.Fatalf("not allowed: %s", w.Body.String())
				}
			}
		})
	}
}
