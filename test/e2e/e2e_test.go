//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// clis lists the distinct docker CLI binaries on this machine (the image's
// own and Debian's), so both request encodings are exercised.
func clis(t *testing.T) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range []string{"/usr/bin/docker", "/usr/local/bin/docker"} {
		if r, err := filepath.EvalSymlinks(p); err == nil && !seen[r] {
			if exec.Command(r, "--version").Run() == nil {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no docker CLI found")
	}
	return out
}

func TestSharedBuildHost(t *testing.T) {
	e := start(t, filepath.Join(repoRoot(t), "examples", "shared-build-host"))
	e.importBusybox("root-admin", "busybox:e2e")
	denyPrefix := "authorization denied by plugin " + e.plugin + ": "

	for _, cli := range clis(t) {
		t.Run(strings.ReplaceAll(strings.TrimPrefix(cli, "/"), "/", "_"), func(t *testing.T) {
			run := func(user string, args ...string) (string, string, error) {
				return e.dockerWith(cli, user, args...)
			}
			if out, stderr, err := run("alice", "run", "--rm", "--network", "none", "-e", "API_TOKEN=e2e-secret-value", "busybox:e2e", "echo", "hello-from-alice"); err != nil || !strings.Contains(out, "hello-from-alice") {
				t.Fatalf("alice's plain run: err=%v out=%q stderr=%q", err, out, stderr)
			}
			if _, stderr, err := run("alice", "ps", "-a"); err != nil {
				t.Fatalf("alice's ps: %v %s", err, stderr)
			}

			denied := []struct {
				name  string
				args  []string
				facet string
			}{
				{"privileged", []string{"--privileged"}, "privileged"},
				{"bind root", []string{"-v", "/:/host"}, "bind"},
				{"mount bind", []string{"--mount", "type=bind,src=/,dst=/h"}, "bind"},
				{"docker socket", []string{"-v", "/var/run/docker.sock:/s"}, "bind"},
				{"cap-add", []string{"--cap-add", "SYS_ADMIN"}, "cap"},
			}
			for _, tc := range denied {
				t.Run(tc.name, func(t *testing.T) {
					args := append([]string{"run", "--rm", "--network", "none"}, tc.args...)
					args = append(args, "busybox:e2e", "true")
					_, stderr, err := run("alice", args...)
					if err == nil {
						t.Fatalf("alice's run %v was allowed", tc.args)
					}
					if !contains(stderr, denyPrefix, "alice (group:developers) may not") {
						t.Fatalf("stderr lacks the plugin's message: %q", stderr)
					}
					if !strings.Contains(stderr, "[") {
						t.Errorf("deny message names no rule: %q", stderr)
					}
				})
			}

			// The admin may bind-mount a host path (create is enough).
			name := "admin-bind-" + randomSuffix()
			if _, stderr, err := run("root-admin", "create", "--name", name, "--network", "none", "-v", "/tmp:/h", "busybox:e2e", "true"); err != nil {
				t.Fatalf("admin's bind create: %v %s", err, stderr)
			}
			if _, stderr, err := run("root-admin", "rm", name); err != nil {
				t.Fatalf("admin's rm: %v %s", err, stderr)
			}

			// Someone with a certificate but no group gets nothing. (A
			// newer CLI whose ping is refused falls back to its own API
			// version, which the plugin refuses as outside dockerd's.)
			if _, stderr, err := run("mallory", "ps"); err == nil || !contains(stderr, denyPrefix+"mallory") {
				t.Fatalf("mallory's ps: err=%v stderr=%q", err, stderr)
			}
		})
	}

	// The audit trail has a record for each of those requests, with the
	// decision the CLI saw.
	recs := e.audit()
	find := func(user, decision, kind, value string) bool {
		for _, r := range recs {
			if r.Stage == "request" && r.User == user && r.Decision == decision && r.Route == "container:create" && (kind == "" || r.hasFacet(kind, value)) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ user, decision, kind, value string }{
		{"alice", "allow", "", ""},
		{"alice", "deny", "privileged", ""},
		{"alice", "deny", "bind", "/"},
		{"alice", "deny", "bind", "/var/run/docker.sock"},
		{"alice", "deny", "cap", "SYS_ADMIN"},
		{"root-admin", "allow", "bind", "/tmp"},
	} {
		if !find(c.user, c.decision, c.kind, c.value) {
			t.Errorf("no audit record: %s %s container:create with %s=%s", c.user, c.decision, c.kind, c.value)
		}
	}
	var mallory, responses, linked int
	for _, r := range recs {
		if r.User == "mallory" && r.Decision == "deny" {
			mallory++
		}
		if r.Stage == "response" {
			responses++
			if r.RequestID != "" {
				linked++
			}
		}
		if strings.Contains(r.Raw, "e2e-secret-value") {
			t.Errorf("audit record holds an Env value in clear: %s", r.Raw)
		}
	}
	if mallory == 0 {
		t.Error("no deny record for mallory")
	}
	if responses == 0 || linked == 0 {
		t.Errorf("responses=%d linked=%d: allowed requests need response records linked to their request", responses, linked)
	}
	if out, err := e.pluginCmdOut("audit", "verify", e.auditLog); err != nil || !strings.HasPrefix(out, "OK") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}
