package owner

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/policy"
)

// byName identifies callers by the User field dockerd sends (a test
// stand-in for certificate verification): empty = the unix socket.
type byName struct{}

func (byName) Identify(in identity.Input) (identity.Subject, error) {
	switch in.User {
	case "":
		return identity.Subject{User: identity.Anonymous, AuthMethod: "none"}, nil
	case "root-admin":
		return identity.Subject{User: in.User, Groups: []string{"group:admins"}, AuthMethod: "tls"}, nil
	}
	return identity.Subject{User: in.User, Groups: []string{"group:developers"}, AuthMethod: "tls"}, nil
}

type memTrail struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (m *memTrail) Write(_ context.Context, r *audit.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs = append(m.recs, *r)
	return nil
}

func (m *memTrail) last() audit.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recs[len(m.recs)-1]
}

const ownersPolicy = `
g, group:admins, profile:unrestricted
g, group:developers, profile:baseline
p, group:developers, image, docker.io/library/*, allow
p, group:developers, running-containers, >2, deny
`

func TestServerWithOwnership(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("a1"), "aweb", "alice", true)
	f.addContainer(id64("a2"), "a2", "alice", true)
	f.addContainer(id64("a3"), "a3", "alice", false)
	f.addContainer(id64("b1"), "bweb", "bob", true)
	r := newTestResolver(t, f, Config{})
	pol, err := policy.New("model", policy.DefaultModel, "policy.csv", []byte(ownersPolicy))
	if err != nil {
		t.Fatal(err)
	}
	trail := &memTrail{}
	srv := authz.NewServer(authz.Config{Identity: byName{}, Policy: authz.NewPolicyHolder(pol), Audit: trail, Enricher: &Enricher{R: r}})
	h := srv.Handler()
	ask := func(user, method, uri string, headers map[string]string, body []byte) (bool, string) {
		t.Helper()
		req := map[string]any{"User": user, "RequestMethod": method, "RequestUri": uri, "RequestHeaders": headers, "RequestBody": body}
		if user != "" {
			req["UserAuthNMethod"] = "TLS"
		}
		b, _ := json.Marshal(req)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/AuthZPlugin.AuthZReq", bytes.NewReader(b)))
		var res struct {
			Allow bool
			Msg   string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return res.Allow, res.Msg
	}
	jsonH := map[string]string{"Content-Type": "application/json"}

	for _, tc := range []struct {
		name, user, method, uri string
		headers                 map[string]string
		body                    string
		allow                   bool
		msg                     []string
		owner, id               string
	}{
		{"alice stops hers", "alice", "POST", "/v1.41/containers/aweb/stop", nil, "", true, nil, "alice", id64("a1")},
		{"bob may not stop alice's", "bob", "POST", "/v1.41/containers/aweb/stop", nil, "", false, []string{"bob (group:developers) may not act on an object whose ownership is other", "owned by alice"}, "alice", id64("a1")},
		{"admin may", "root-admin", "POST", "/v1.41/containers/aweb/stop", nil, "", true, nil, "alice", id64("a1")},
		{"create without label", "alice", "POST", "/v1.41/containers/create", jsonH, `{"Image":"alpine"}`, false, []string{"owner label is missing", "--label com.docker-authz.owner=alice"}, "", ""},
		{"create labelled", "alice", "POST", "/v1.41/containers/create", jsonH, `{"Image":"alpine","Labels":{"com.docker-authz.owner":"alice"}}`, true, nil, "alice", ""},
		{"alice's third running container is over the quota", "alice", "POST", "/v1.41/containers/a3/start", nil, "", false, []string{"may not run 3 containers at once"}, "alice", id64("a3")},
		{"the lookup identity may inspect", "", "GET", "/v1.41/containers/bweb/json", map[string]string{TokenHeader: r.Token()}, "", true, nil, "", ""},
		{"but not stop", "", "POST", "/v1.41/containers/bweb/stop", map[string]string{TokenHeader: r.Token()}, "", false, []string{"read-only"}, "", ""},
		{"a forged token", "", "GET", "/v1.41/containers/bweb/json", map[string]string{TokenHeader: "x"}, "", false, []string{"not this plugin's lookup token"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			allow, msg := ask(tc.user, tc.method, tc.uri, tc.headers, body)
			if allow != tc.allow {
				t.Fatalf("allow=%v, want %v: %s", allow, tc.allow, msg)
			}
			for _, m := range tc.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %q", msg, m)
				}
			}
			rec := trail.last()
			if rec.Owner != tc.owner || rec.ObjectID != tc.id {
				t.Errorf("audit owner %q object_id %q, want %q %q", rec.Owner, rec.ObjectID, tc.owner, tc.id)
			}
			if tc.allow && tc.user == "" && rec.User != authz.LookupUserName {
				t.Errorf("lookup recorded as %q", rec.User)
			}
			if v := rec.Headers[TokenHeader]; v == r.Token() {
				t.Error("the lookup token reached the audit trail in clear")
			}
		})
	}
}
