//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// queryEntry is the part of `audit query --json` output the test reads.
type queryEntry struct {
	Seq      uint64 `json:"seq"`
	User     string `json:"user"`
	Route    string `json:"route"`
	Object   string `json:"object"`
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	Outcome  string `json:"outcome"`
	Status   int    `json:"status"`
	Denied   []struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"denied"`
}

// runBin runs the plugin binary and returns stdout, stderr and the exit code.
func runBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return out.String(), errb.String(), code
}

// TestAuditQueryEndToEnd: alice and bob use the real docker CLI against a
// real dockerd with the plugin; some of their requests are refused. The
// auditor's commands on the trail the plugin wrote answer who ran what and
// what was refused, and the trail verifies.
func TestAuditQueryEndToEnd(t *testing.T) {
	e := start(t, filepath.Join(repoRoot(t), "examples", "shared-build-host"))
	e.importBusybox("root-admin", "busybox:e2e")

	mustDocker := func(user string, args ...string) {
		t.Helper()
		if _, stderr, err := e.docker(user, args...); err != nil {
			t.Fatalf("%s: docker %v: %v\n%s", user, args, err, stderr)
		}
	}
	mustRefuse := func(user string, args ...string) {
		t.Helper()
		if _, stderr, err := e.docker(user, args...); err == nil || !strings.Contains(stderr, "authorization denied by plugin") {
			t.Fatalf("%s: docker %v was not refused by the plugin: %v\n%s", user, args, err, stderr)
		}
	}
	mustDocker("alice", "run", "--rm", "--network", "none", "busybox:e2e", "true")
	mustDocker("alice", "ps", "-a")
	mustRefuse("alice", "run", "--rm", "--network", "none", "--privileged", "busybox:e2e", "true")
	mustDocker("bob", "create", "--name", "bobs-box", "--network", "none", "busybox:e2e", "true")
	mustDocker("bob", "rm", "bobs-box")
	mustRefuse("bob", "run", "--rm", "--network", "none", "-v", "/:/host", "busybox:e2e", "true")

	// Everything, as JSON lines.
	out, stderr, code := runBin(t, e.bin, "audit", "query", "--json", e.auditLog)
	if code != 0 {
		t.Fatalf("audit query --json: exit %d\n%s", code, stderr)
	}
	var all []queryEntry
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var q queryEntry
		if err := json.Unmarshal([]byte(l), &q); err != nil {
			t.Fatalf("audit query --json line %q: %v", l, err)
		}
		all = append(all, q)
	}
	has := func(pred func(q queryEntry) bool) bool {
		for _, q := range all {
			if pred(q) {
				return true
			}
		}
		return false
	}
	deniedKind := func(q queryEntry, kind string) bool {
		for _, d := range q.Denied {
			if d.Kind == kind {
				return true
			}
		}
		return false
	}
	checks := []struct {
		what string
		pred func(q queryEntry) bool
	}{
		{"alice's container create, allowed, 201", func(q queryEntry) bool {
			return q.User == "alice" && q.Route == "container:create" && q.Decision == "allow" && q.Status == 201 && q.Outcome == "201"
		}},
		{"alice's ps, allowed, 200", func(q queryEntry) bool {
			return q.User == "alice" && q.Route == "container:list" && q.Decision == "allow" && q.Status == 200
		}},
		{"alice's privileged run, denied on the privileged facet", func(q queryEntry) bool {
			return q.User == "alice" && q.Route == "container:create" && q.Decision == "deny" && q.Outcome == "denied" && deniedKind(q, "privileged")
		}},
		{"bob's named create", func(q queryEntry) bool {
			return q.User == "bob" && q.Route == "container:create" && q.Decision == "allow" && q.Object == "bobs-box" && q.Status == 201
		}},
		{"bob's rm, 204", func(q queryEntry) bool {
			return q.User == "bob" && q.Route == "container:delete" && q.Decision == "allow" && q.Status == 204
		}},
		{"bob's bind mount of /, denied on the bind facet", func(q queryEntry) bool {
			return q.User == "bob" && q.Decision == "deny" && deniedKind(q, "bind") && strings.Contains(q.Reason, "bob")
		}},
	}
	for _, c := range checks {
		if !has(c.pred) {
			t.Errorf("audit query --json has no entry for %s", c.what)
		}
	}

	// The auditor's questions, as tables.
	out, stderr, code = runBin(t, e.bin, "audit", "query", "--decision", "deny", "--user", "bob", e.auditLog)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !contains(lines[0], "TIME (UTC)", "USER", "DECISION", "STATUS", "ROUTE", "OBJECT", "REASON") ||
		!contains(lines[1], "bob", "deny", "container:create", "may not") {
		t.Fatalf("audit query --decision deny --user bob: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = runBin(t, e.bin, "audit", "query", "--facet", "privileged", e.auditLog)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !contains(lines[1], "alice", "deny") {
		t.Fatalf("audit query --facet privileged:\n%s", out)
	}
	out, _, code = runBin(t, e.bin, "audit", "query", "--group", "developers", "--route", "container:delete", filepath.Dir(e.auditLog))
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !contains(lines[1], "bob", "allow", "204", "container:delete") {
		t.Fatalf("audit query --route container:delete on the trail directory:\n%s", out)
	}
	out, _, code = runBin(t, e.bin, "audit", "stats", e.auditLog)
	if code != 0 || !contains(out, "USER", "alice", "bob", "root-admin", "DENIED FACET", "privileged", "bind", "HOUR (UTC)") {
		t.Fatalf("audit stats:\n%s", out)
	}

	// And the trail is intact (exit 3: verified, but unsigned: this plugin
	// runs without a checkpoint key).
	out, stderr, code = runBin(t, e.bin, "audit", "verify", e.auditLog)
	if (code != 0 && code != 3) || !strings.HasPrefix(out, "OK") {
		t.Fatalf("audit verify: exit %d\n%s%s", code, out, stderr)
	}
}
