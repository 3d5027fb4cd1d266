//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo is `make demo`: it narrates, on the terminal, a throwaway dockerd
// with the plugin and the shared-build-host policy. In CI it runs quietly and
// still checks every step.
func TestDemo(t *testing.T) {
	var w io.Writer = io.Discard
	if os.Getenv("DEMO") != "" {
		w = os.Stdout
	}
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

	say("\n== docker-authz demo ==")
	say("Building the plugin, creating a test CA with users alice (O=developers) and root-admin (O=admins),")
	say("starting a throwaway dockerd with --tlsverify and --authorization-plugin ...")
	e := start(t, filepath.Join(repoRoot(t), "examples", "shared-build-host"))
	say("plugin %s on %s, policy examples/shared-build-host, audit trail %s\n", e.plugin, e.socket, e.auditLog)
	e.importBusybox("root-admin", "busybox:demo")

	step := func(user string, wantOK bool, args ...string) {
		t.Helper()
		say("$ %s> docker %s", user, strings.Join(args, " "))
		out, stderr, err := e.docker(user, args...)
		for _, s := range []string{out, stderr} {
			if s = strings.TrimSpace(s); s != "" {
				say("  %s", strings.ReplaceAll(s, "\n", "\n  "))
			}
		}
		if (err == nil) != wantOK {
			t.Fatalf("docker %v as %s: err=%v, want success=%v\n%s", args, user, err, wantOK, stderr)
		}
		if !wantOK && !strings.Contains(stderr, "authorization denied by plugin "+e.plugin) {
			t.Fatalf("refusal did not come from the plugin: %s", stderr)
		}
		say("")
	}
	step("alice", true, "run", "--rm", "--network", "none", "busybox:demo", "echo", "hello from alice's container")
	step("alice", false, "run", "--rm", "--privileged", "busybox:demo", "true")
	step("alice", false, "run", "--rm", "-v", "/:/host", "busybox:demo", "cat", "/host/etc/shadow")
	step("root-admin", true, "create", "--name", "admin-bind", "--network", "none", "-v", "/srv:/srv:ro", "busybox:demo", "true")
	step("root-admin", true, "rm", "admin-bind")

	say("== the audit trail of what just happened ==")
	for _, r := range e.audit() {
		if r.Stage != "request" || r.Route == "system:ping" {
			continue
		}
		line := fmt.Sprintf("#%-4d %-10s %-5s %-18s", r.Seq, r.User, r.Decision, r.Route)
		if r.Decision == "deny" {
			line += "  " + r.Reason
		}
		say("%s", line)
	}
	out, err := e.pluginCmdOut("audit", "verify", e.auditLog)
	say("\n$ docker-authz audit verify %s\n  %s", e.auditLog, strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("audit verify: %v %s", err, out)
	}
	say("\nStopping dockerd and the plugin, removing the temporary files.")
}
