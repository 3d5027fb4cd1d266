package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz/audit"
)

// TestDenyLogHasNoSecrets: every deny is logged at info with its reason,
// and no log line carries a secret from the request (Env values, registry
// credentials, secret query parameters), whether the trail works or not.
func TestDenyLogHasNoSecrets(t *testing.T) {
	secrets := []string{"hunter2-env-secret", "c2VjcmV0LXJlZ2lzdHJ5LWF1dGg", "s3cr3t-query-token", "buildarg-secret-pw"}
	for _, trailWorks := range []bool{true, false} {
		f := newFixture(t)
		var logs bytes.Buffer
		l := logrus.New()
		l.SetOutput(&logs)
		l.SetFormatter(&logrus.JSONFormatter{})
		l.SetLevel(logrus.DebugLevel)
		f.srv.cfg.Log = l
		if trailWorks {
			trail, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer trail.Close()
			f.srv.cfg.Audit = trail
		} else {
			f.srv.cfg.Audit = &memTrail{fail: errors.New("disk full")}
		}
		h := f.srv.Handler()

		withAuth := func(uri string, body []byte) []byte {
			var w map[string]any
			json.Unmarshal(f.wire(t, "alice", []string{"developers"}, "POST", uri, body), &w)
			hd, _ := w["RequestHeaders"].(map[string]any)
			if hd == nil {
				hd = map[string]any{}
			}
			hd["X-Registry-Auth"] = "c2VjcmV0LXJlZ2lzdHJ5LWF1dGg"
			w["RequestHeaders"] = hd
			b, _ := json.Marshal(w)
			return b
		}
		for _, req := range [][]byte{
			// Denied by the policy (privileged), secrets in Env and the auth header.
			withAuth("/v1.41/containers/create?name=web", []byte(`{"Image":"alpine","Env":["API_TOKEN=hunter2-env-secret"],"HostConfig":{"Privileged":true}}`)),
			// Denied: an image from an untrusted registry, credentials in the query.
			withAuth("/v1.41/images/create?fromImage=evil.example/x&tag=1&token=s3cr3t-query-token", nil),
			// Denied: build with a secret build argument and a host network.
			withAuth(`/v1.41/build?networkmode=host&buildargs={"PW":"buildarg-secret-pw"}`, nil),
			// Denied by strict decoding, the secret next to the offending key.
			withAuth("/v1.41/containers/create", []byte(`{"Image":"alpine","Env":["API_TOKEN=hunter2-env-secret"],"Privilegd":true}`)),
		} {
			if res := post(t, h, "/AuthZPlugin.AuthZReq", req); res.Allow {
				t.Fatalf("allowed: %s", req)
			}
		}
		// The outcome of an allowed request, with a secret in the query.
		post(t, h, "/AuthZPlugin.AuthZRes", withAuth("/v1.41/images/create?fromImage=alpine&token=s3cr3t-query-token", nil))
		out := logs.String()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("trail works=%v: secret %q in the log:\n%s", trailWorks, s, out)
			}
		}
		denies := 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var e map[string]any
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("log line is not JSON: %q", line)
			}
			if m, _ := e["msg"].(string); strings.HasPrefix(m, "denied: ") && e["level"] == "info" && e["user"] == "alice" {
				denies++
			}
		}
		if trailWorks && denies != 4 {
			t.Errorf("%d deny lines at info with a reason, want 4:\n%s", denies, out)
		}
	}
}
