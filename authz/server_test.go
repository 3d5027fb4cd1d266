package authz

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/docker/go-plugins-helpers/authorization"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
	"github.com/docker-authz/docker-authz/policy"
)

const serverPolicy = `g, group:admins, profile:unrestricted
g, group:developers, profile:baseline
p, group:developers, image, docker.io/library/*, allow
p, group:developers, bind, *, deny
`

// memTrail is an in-memory Recorder that can be made to fail.
type memTrail struct {
	mu   sync.Mutex
	recs []audit.Record
	fail error
}

func (m *memTrail) Write(_ context.Context, r *audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	r.Seq = uint64(len(m.recs) + 1)
	m.recs = append(m.recs, *r)
	return nil
}

func (m *memTrail) last() audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return audit.Record{}
	}
	return m.recs[len(m.recs)-1]
}

type panicIdentity struct{}

func (panicIdentity) Identify(identity.Input) (identity.Subject, error) { panic("boom") }

type fixture struct {
	srv   *Server
	trail *memTrail
	ca    *identitytest.CA
}

func newFixture(t *testing.T) *fixture {
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
	trail := &memTrail{}
	srv := NewServer(Config{Name: "docker-authz", Identity: ver, Policy: NewPolicyHolder(pol), Audit: trail})
	return &fixture{srv: srv, trail: trail, ca: ca}
}

// wire builds an AuthZReq body as dockerd does: certificates as base64 of PEM.
func (f *fixture) wire(t *testing.T, user string, orgs []string, method, uri string, body []byte) []byte {
	t.Helper()
	w := map[string]any{"RequestMethod": method, "RequestUri": uri}
	if body != nil {
		w["RequestBody"] = body
		w["RequestHeaders"] = map[string]string{"Content-Type": "application/json"}
	}
	if user != "" {
		cert, _ := f.ca.Issue(user, orgs)
		w["User"], w["UserAuthNMethod"] = user, "TLS"
		w["RequestPeerCertificates"] = [][]byte{cert}
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t *testing.T, h http.Handler, path string, body []byte) authorization.Response {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	if rr.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rr.Code, rr.Body)
	}
	var res authorization.Response
	dec := json.NewDecoder(rr.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("response is not a plugin response: %v", err)
	}
	if res.Allow && (res.Err != "" || res.Msg != "") {
		t.Fatalf("allow with a message: %+v", res)
	}
	return res
}

func TestActivate(t *testing.T) {
	f := newFixture(t)
	rr := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/Plugin.Activate", nil))
	var m struct{ Implements []string }
	if err := json.Unmarshal(rr.Body.Bytes(), &m); err != nil || len(m.Implements) != 1 || m.Implements[0] != "authz" {
		t.Fatalf("activate: %s (%v)", rr.Body, err)
	}
}

func TestAuthZReq(t *testing.T) {
	create := []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`)
	plain := []byte(`{"Image":"alpine"}`)
	tests := []struct {
		name    string
		body    func(f *fixture, t *testing.T) []byte
		allow   bool
		msg     string // substring of the deny message
		audited string // expected decision in the audit record, "" for none expected
	}{
		{"developer lists containers", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "GET", "/v1.41/containers/json", nil)
		}, true, "", audit.Allow},
		{"developer plain create", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", plain)
		}, true, "", audit.Allow},
		{"developer privileged", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", create)
		}, false, "alice (group:developers) may not", audit.Deny},
		{"admin privileged", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "root-admin", []string{"admins"}, "POST", "/containers/create", create)
		}, true, "", audit.Allow},
		{"anonymous ping", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "", nil, "GET", "/_ping", nil)
		}, false, "anonymous may not", audit.Deny},
		{"case-folded key", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", []byte(`{"Image":"alpine","HostConfig":{"privileged":true}}`))
		}, false, "request refused", audit.Deny},
		{"create without body", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", nil)
		}, false, "request refused", audit.Deny},
		{"certificate from another CA", func(f *fixture, t *testing.T) []byte {
			other := &fixture{ca: identitytest.NewCA(t)}
			return other.wire(t, "alice", []string{"admins"}, "GET", "/_ping", nil)
		}, false, "could not identify the caller", audit.Deny},
		{"not JSON", func(*fixture, *testing.T) []byte { return []byte(`{"RequestMethod":`) }, false, "could not read the request", ""},
		{"trailing data", func(*fixture, *testing.T) []byte {
			return []byte(`{"RequestMethod":"GET","RequestUri":"/_ping"} {"RequestMethod":"POST"}`)
		}, false, "data after the JSON object", ""},
		{"no method", func(*fixture, *testing.T) []byte { return []byte(`{"RequestUri":"/_ping"}`) }, false, "no RequestMethod", ""},
		{"certificate not base64", func(*fixture, *testing.T) []byte {
			return []byte(`{"RequestMethod":"GET","RequestUri":"/_ping","RequestPeerCertificates":["%%%"]}`)
		}, false, "could not read the request", ""},
		{"oversized message", func(*fixture, *testing.T) []byte {
			return append([]byte(`{"RequestMethod":"GET","RequestUri":"/_ping","RequestBody":"`), append(bytes.Repeat([]byte("A"), maxMessage), []byte(`"}`)...)...)
		}, false, "larger than", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res := post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", tc.body(f, t))
			if res.Allow != tc.allow {
				t.Fatalf("allow=%v, want %v: %+v", res.Allow, tc.allow, res)
			}
			if !strings.Contains(res.Msg, tc.msg) {
				t.Errorf("msg %q lacks %q", res.Msg, tc.msg)
			}
			rec := f.trail.last()
			if tc.audited == "" {
				return
			}
			if rec.Decision != tc.audited || rec.Stage != audit.StageRequest || rec.ID == "" {
				t.Fatalf("audit record %+v, want decision %s", rec, tc.audited)
			}
			if !tc.allow && rec.Reason != res.Msg {
				t.Errorf("audit reason %q differs from the message %q", rec.Reason, res.Msg)
			}
		})
	}
}

func TestAuditFailureDenies(t *testing.T) {
	f := newFixture(t)
	f.trail.fail = errors.New("disk full")
	res := post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", f.wire(t, "root-admin", []string{"admins"}, "GET", "/_ping", nil))
	if res.Allow || !strings.Contains(res.Msg, "audit trail could not be written") {
		t.Fatalf("%+v", res)
	}
	res = post(t, f.srv.Handler(), "/AuthZPlugin.AuthZRes", f.wire(t, "root-admin", []string{"admins"}, "GET", "/_ping", nil))
	if res.Allow {
		t.Fatalf("response allowed without its audit record: %+v", res)
	}
}

func TestPanicDenies(t *testing.T) {
	f := newFixture(t)
	f.srv.cfg.Identity = panicIdentity{}
	res := post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", f.wire(t, "", nil, "GET", "/_ping", nil))
	if res.Allow || !strings.Contains(res.Msg, "internal error") {
		t.Fatalf("%+v", res)
	}
}

func TestUnconfiguredDenies(t *testing.T) {
	for name, srv := range map[string]*Server{"zero": {}, "no policy": NewServer(Config{Identity: panicIdentity{}, Audit: &memTrail{}})} {
		t.Run(name, func(t *testing.T) {
			res := post(t, srv.Handler(), "/AuthZPlugin.AuthZReq", []byte(`{"RequestMethod":"GET","RequestUri":"/_ping"}`))
			if res.Allow {
				t.Fatal("unconfigured server allowed")
			}
		})
	}
}

func TestResponseLinksRequest(t *testing.T) {
	f := newFixture(t)
	body := f.wire(t, "alice", []string{"developers"}, "GET", "/v1.41/containers/json", nil)
	if res := post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", body); !res.Allow {
		t.Fatalf("%+v", res)
	}
	reqRec := f.trail.last()
	var w map[string]any
	_ = json.Unmarshal(body, &w)
	w["ResponseStatusCode"] = 200
	resBody, _ := json.Marshal(w)
	if res := post(t, f.srv.Handler(), "/AuthZPlugin.AuthZRes", resBody); !res.Allow {
		t.Fatalf("%+v", res)
	}
	rec := f.trail.last()
	if rec.Stage != audit.StageResponse || rec.RequestID != reqRec.ID || rec.Status != 200 || rec.User != "alice" {
		t.Fatalf("response record %+v, request id %s", rec, reqRec.ID)
	}
	if rec.Route != "container:list" || rec.Route != reqRec.Route || rec.APIVersion != reqRec.APIVersion {
		t.Fatalf("response record route %q version %q, request record %q %q", rec.Route, rec.APIVersion, reqRec.Route, reqRec.APIVersion)
	}
	// A second response for the same request finds no pending request, and
	// names its route by normalising the request itself.
	post(t, f.srv.Handler(), "/AuthZPlugin.AuthZRes", resBody)
	if rec := f.trail.last(); rec.RequestID != "" || rec.Route != "container:list" {
		t.Fatalf("response linked twice, or unnamed: %+v", rec)
	}
}

func TestSecretsNotRecorded(t *testing.T) {
	f := newFixture(t)
	w := map[string]any{
		"RequestMethod": "POST", "RequestUri": "/v1.41/images/create?fromImage=alpine&tag=latest",
		"RequestHeaders": map[string]string{"X-Registry-Auth": "c2VjcmV0LXRva2Vu", "Content-Type": "application/json"},
	}
	cert, _ := f.ca.Issue("alice", []string{"developers"})
	w["User"], w["UserAuthNMethod"], w["RequestPeerCertificates"] = "alice", "TLS", [][]byte{cert}
	b, _ := json.Marshal(w)
	post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", b)
	post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", []byte(`{"Image":"alpine","Env":["API_TOKEN=hunter2-secret"]}`)))
	for _, r := range f.trail.recs {
		line, _ := json.Marshal(r)
		for _, secret := range []string{"c2VjcmV0LXRva2Vu", "hunter2-secret"} {
			if bytes.Contains(line, []byte(secret)) {
				t.Errorf("secret %q in audit record %s", secret, line)
			}
		}
	}
}
