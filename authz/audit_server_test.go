package authz

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
	"github.com/docker-authz/docker-authz/policy"
)

// newTrailFixture is newFixture with a real audit.Log at path.
func newTrailFixture(t *testing.T, path string, opts audit.Options, levels audit.Levels) (*fixture, *audit.Log) {
	t.Helper()
	ca := identitytest.NewCA(t)
	ver, err := identity.NewVerifier(identity.Config{ClientCAs: []*x509.Certificate{ca.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New("model", policy.DefaultModel, "policy.csv", []byte(serverPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = &testLogger{t: t}
	}
	l, err := audit.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	// With an Observer, as serve runs it: the metrics wrapper must not hide
	// the trail's own redaction.
	srv := NewServer(Config{Name: "docker-authz", Identity: ver, Policy: NewPolicyHolder(pol), Audit: l, AuditLevels: levels, Log: quiet, Observer: nopObserver{}})
	return &fixture{srv: srv, ca: ca}, l
}

type testLogger struct {
	t  *testing.T
	mu sync.Mutex
	n  int
}

func (l *testLogger) Warnf(f string, a ...any) { l.log("WARN "+f, a...) }
func (l *testLogger) Errorf(f string, a ...any) {
	l.log("ERROR "+f, a...)
}

func (l *testLogger) log(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if l.n <= 5 {
		l.t.Logf(f, a...)
	}
}

func readRecords(t *testing.T, paths ...string) []audit.Record {
	t.Helper()
	var out []audit.Record
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var r audit.Record
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			out = append(out, r)
		}
	}
	return out
}

// TestServerAuditConcurrent: many goroutines deciding at once through the
// Server on a real, signed, rotating trail: every decision has exactly one
// record with its outcome, and the trail verifies with the key.
func TestServerAuditConcurrent(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := audit.NewSigner(priv)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, l := newTrailFixture(t, path, audit.Options{Signer: signer, CheckpointEvery: 100, MaxSize: 256 << 10}, audit.Levels{})
	h := f.srv.Handler()
	const G, N = 32, 25
	alice := f.wire(t, "alice", []string{"developers"}, "GET", "/v1.41/containers/json", nil)
	var w map[string]any
	_ = json.Unmarshal(alice, &w)
	type outcome struct {
		uri   string
		allow bool
	}
	results := make(chan outcome, G*N)
	var wg sync.WaitGroup
	for g := 0; g < G; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < N; i++ {
				var body []byte
				var uri string
				if (g+i)%3 == 0 { // a privileged container: denied
					uri = fmt.Sprintf("/v1.41/containers/create?name=c-%d-%d", g, i)
					body = f.wire(t, "alice", []string{"developers"}, "POST", uri, []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`))
				} else {
					uri = fmt.Sprintf("/v1.41/containers/json?limit=%d", g*N+i+1)
					m := map[string]any{}
					for k, v := range w {
						m[k] = v
					}
					m["RequestUri"] = uri
					body, _ = json.Marshal(m)
				}
				res := post(t, h, "/AuthZPlugin.AuthZReq", body)
				results <- outcome{uri, res.Allow}
			}
		}(g)
	}
	wg.Wait()
	close(results)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := audit.TrailFiles(path)
	sum, err := audit.VerifyTrail(audit.VerifyOptions{PublicKey: pub}, files...)
	if err != nil || sum.Unsealed != 0 || sum.Signed == 0 {
		t.Fatalf("verify: %+v %v", sum, err)
	}
	byURI := map[string][]audit.Record{}
	for _, r := range readRecords(t, files...) {
		if r.Stage == audit.StageRequest {
			byURI[r.URI] = append(byURI[r.URI], r)
		}
	}
	allowed, denied := 0, 0
	for o := range results {
		recs := byURI[o.uri]
		if len(recs) != 1 {
			t.Fatalf("%s: %d records, want exactly 1", o.uri, len(recs))
		}
		want := audit.Deny
		if o.allow {
			want = audit.Allow
			allowed++
		} else {
			denied++
		}
		if r := recs[0]; r.Decision != want || r.User != "alice" || r.CertSHA256 == "" || r.Level == "" {
			t.Errorf("%s: record %+v, decision %s", o.uri, r, want)
		}
		delete(byURI, o.uri)
	}
	if len(byURI) != 0 || allowed == 0 || denied == 0 {
		t.Errorf("%d records without a decision; %d allowed, %d denied", len(byURI), allowed, denied)
	}
	t.Logf("%d decisions in %d files, %d checkpoints; %+v", G*N, len(files), sum.Checkpoints, l.Stats())
}

// TestServerAuditLevelsAndRedaction: writes are recorded at level request
// with the body redacted (HMAC, so equal secrets correlate), reads at
// metadata without body, and level none drops allowed reads but never
// denials.
func TestServerAuditLevelsAndRedaction(t *testing.T) {
	hmacKey := []byte("0123456789abcdef0123456789abcdef")
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, l := newTrailFixture(t, path, audit.Options{HMACKey: hmacKey}, audit.Levels{Reads: audit.LevelNone})
	h := f.srv.Handler()
	create := func(name string) []byte {
		b := f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create?name="+name,
			[]byte(`{"Image":"alpine","Env":["DB_PASSWORD=hunter2-secret","PLAIN=1"],"Labels":{"auth_token":"tok-123456"}}`))
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["RequestHeaders"] = map[string]string{"Content-Type": "application/json", "X-Registry-Auth": "c2VjcmV0LXRva2Vu", "Authorization": "Bearer abcdefgh"}
		out, _ := json.Marshal(m)
		return out
	}
	for _, n := range []string{"web1", "web2"} {
		if res := post(t, h, "/AuthZPlugin.AuthZReq", create(n)); !res.Allow {
			t.Fatalf("create %s: %+v", n, res)
		}
	}
	if res := post(t, h, "/AuthZPlugin.AuthZReq", f.wire(t, "alice", []string{"developers"}, "GET", "/v1.41/containers/json", nil)); !res.Allow {
		t.Fatalf("read: %+v", res)
	}
	if res := post(t, h, "/AuthZPlugin.AuthZReq", f.wire(t, "alice", []string{"developers"}, "GET", "/v1.41/no/such/route", nil)); res.Allow {
		t.Fatalf("unknown route allowed")
	}
	l.Close()
	raw, _ := os.ReadFile(path)
	for _, secret := range []string{"hunter2-secret", "c2VjcmV0LXRva2Vu", "abcdefgh", "tok-123456"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("secret %q in the trail", secret)
		}
	}
	recs := readRecords(t, path)
	if len(recs) != 3 {
		t.Fatalf("%d records, want 2 creates and the denied read (allowed reads at level none are not recorded)", len(recs))
	}
	a, b, d := recs[0], recs[1], recs[2]
	if a.Level != "request" || a.Body == nil || a.Object != "web1" || d.Level != "metadata" || d.Body != nil || d.Decision != audit.Deny {
		t.Errorf("levels: %+v / %+v", a, d)
	}
	// RedactedBody does not decode (nothing outside the audit package may
	// build one): compare the raw lines' body members.
	var rawRecs []struct{ Body json.RawMessage }
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var x struct{ Body json.RawMessage }
		_ = json.Unmarshal(line, &x)
		rawRecs = append(rawRecs, x)
	}
	ab, bb := rawRecs[0].Body, rawRecs[1].Body
	if !bytes.Equal(ab, bb) || !bytes.Contains(ab, []byte(`"DB_PASSWORD=hmac-sha256:`)) || !bytes.Contains(ab, []byte(`"PLAIN=hmac-sha256:`)) {
		t.Errorf("bodies not redacted alike: %s / %s", ab, bb)
	}
	if a.Headers["X-Registry-Auth"] != b.Headers["X-Registry-Auth"] || !strings.HasPrefix(a.Headers["X-Registry-Auth"], audit.HMACPrefix) || !strings.HasPrefix(a.Headers["Authorization"], audit.HMACPrefix) {
		t.Errorf("headers %v / %v", a.Headers, b.Headers)
	}
	if a.BodySHA256 == "" || a.BodySHA256 != b.BodySHA256 {
		t.Errorf("body digests %q %q", a.BodySHA256, b.BodySHA256)
	}
}

// TestServerAuditDiskFull: the trail's file system fills up mid-run (a real
// 64 KiB tmpfs): allows stop, denies continue, nothing is allowed without a
// record, and allows resume when space is freed.
func TestServerAuditDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 16<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.jsonl")
	f, l := newTrailFixture(t, path, audit.Options{}, audit.Levels{})
	h := f.srv.Handler()
	read := func(n int) []byte {
		return f.wire(t, "alice", []string{"developers"}, "GET", fmt.Sprintf("/v1.41/containers/json?limit=%d", n), nil)
	}
	deny := f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`))

	allowedURIs := map[string]bool{}
	n, full := 0, false
	for n < 2000 && !full {
		n++
		res := post(t, h, "/AuthZPlugin.AuthZReq", read(n))
		if res.Allow {
			allowedURIs[fmt.Sprintf("/v1.41/containers/json?limit=%d", n)] = true
		} else {
			full = true
			if !strings.Contains(res.Msg, "audit trail could not be written") {
				t.Errorf("deny message %q does not say why", res.Msg)
			}
		}
	}
	if !full {
		t.Fatal("the 64k tmpfs never filled up")
	}
	for i := 0; i < 5; i++ {
		n++
		if res := post(t, h, "/AuthZPlugin.AuthZReq", read(n)); res.Allow {
			t.Fatalf("allowed while the trail cannot be written")
		}
		if res := post(t, h, "/AuthZPlugin.AuthZReq", deny); res.Allow {
			t.Fatalf("a denied request was allowed")
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n++
	if res := post(t, h, "/AuthZPlugin.AuthZReq", read(n)); !res.Allow {
		t.Fatalf("not allowed after space was freed: %+v", res)
	}
	allowedURIs[fmt.Sprintf("/v1.41/containers/json?limit=%d", n)] = true
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyFiles(path); err != nil {
		t.Fatalf("trail damaged by the full disk: %v", err)
	}
	recorded := map[string]bool{}
	for _, r := range readRecords(t, path) {
		if r.Decision == audit.Allow {
			if recorded[r.URI] {
				t.Errorf("%s recorded twice", r.URI)
			}
			recorded[r.URI] = true
		}
	}
	for u := range allowedURIs {
		if !recorded[u] {
			t.Errorf("%s was allowed without a record", u)
		}
	}
	if len(recorded) != len(allowedURIs) {
		t.Errorf("%d allow records for %d allowed requests", len(recorded), len(allowedURIs))
	}
	t.Logf("%d requests allowed before the disk was full; stats %+v", len(allowedURIs)-1, l.Stats())
}
