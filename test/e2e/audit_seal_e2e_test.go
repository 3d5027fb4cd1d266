//go:build e2e

package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/audit"
)

// TestAuditSealedTrailEndToEnd: the real plugin with a signing key (made by
// `audit keygen`), an HMAC key and a small rotation size serves a real
// dockerd; alice and bob run docker commands, one with a secret in its
// environment. After SIGTERM the trail
// is rotated, sealed by a shutdown checkpoint, verifies with the public key
// (exit 0), holds no secret in clear, and correlates equal secrets.
func TestAuditSealedTrailEndToEnd(t *testing.T) {
	var pub string
	e := start(t, filepath.Join(repoRoot(t), "examples", "shared-build-host"), func(e *env) []string {
		priv := filepath.Join(e.dir, "keys", "audit-signing.pem")
		pub = filepath.Join(e.dir, "keys", "audit-signing.pub.pem")
		if err := os.MkdirAll(filepath.Dir(priv), 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(e.bin, "audit", "keygen", "--out", priv).CombinedOutput(); err != nil {
			t.Fatalf("keygen: %v %s", err, out)
		}
		hmacKey := filepath.Join(e.dir, "keys", "hmac.key")
		if err := os.WriteFile(hmacKey, []byte("e2e-hmac-key-0123456789abcdef"), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--audit-key", priv, "--audit-hmac-key", hmacKey, "--audit-max-size", "16KiB",
			"--audit-checkpoint-every", "10", "--audit-level-reads", "metadata", "--audit-level-writes", "request"}
	})
	e.importBusybox("root-admin", "busybox:e2e")
	const secret = "hunter2-e2e-secret"
	for _, user := range []string{"alice", "bob"} {
		if _, stderr, err := e.docker(user, "run", "--rm", "-e", "API_TOKEN="+secret, "busybox:e2e", "true"); err != nil {
			t.Fatalf("%s: docker run: %v\n%s", user, err, stderr)
		}
		_, _, _ = e.docker(user, "ps", "-a")
		// Refused: a host bind mount.
		if _, _, err := e.docker(user, "run", "--rm", "-v", "/:/host", "busybox:e2e", "true"); err == nil {
			t.Fatalf("%s: bind mount of / allowed", user)
		}
	}
	// Registry credentials for a pull (refused by the policy).
	cfgDir := filepath.Join(e.users["alice"], "config")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"auths":{"registry.invalid":{"auth":"dXNlcjpodW50ZXIyLWUyZS1zZWNyZXQ="}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _ = e.docker("alice", "pull", "registry.invalid/x:1")

	terminate(e.pluginCmd, 15*time.Second) // SIGTERM: the plugin seals the trail
	files, err := audit.TrailFiles(e.auditLog)
	if err != nil || len(files) < 2 {
		t.Fatalf("trail files %v, %v: want a rotated trail", files, err)
	}
	out, err := e.pluginCmdOut("audit", "verify", "--key", pub, filepath.Dir(e.auditLog))
	if err != nil || !contains(out, "OK: ", "every signature verified") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	var all strings.Builder
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all.Write(b)
	}
	trail := all.String()
	for _, s := range []string{secret, "dXNlcjpodW50ZXIyLWUyZS1zZWNyZXQ="} {
		if strings.Contains(trail, s) {
			t.Errorf("secret %q in the trail", s)
		}
	}
	// (X-Registry-Auth redaction is covered by the unit tests: with this
	// dockerd and CLI the header does not reach the plugin for a pull.)
	for _, want := range []string{`"API_TOKEN=hmac-sha256:`, `"reason":"shutdown"`, `"level":"request"`, `"level":"metadata"`} {
		if !strings.Contains(trail, want) {
			t.Errorf("trail lacks %s", want)
		}
	}
	lines := strings.Split(strings.TrimSpace(trail), "\n")
	if !strings.Contains(lines[len(lines)-1], `"stage":"checkpoint"`) {
		t.Errorf("the last record is not a checkpoint: %s", lines[len(lines)-1])
	}
	// Tampering is found, with the place.
	last := files[len(files)-1]
	b, _ := os.ReadFile(files[0])
	edited := strings.Replace(string(b), `"user":"root-admin"`, `"user":"somebody!"`, 1)
	if edited == string(b) {
		t.Fatalf("no root-admin record in %s", files[0])
	}
	if err := os.WriteFile(files[0], []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	out, err = e.pluginCmdOut("audit", "verify", "--key", pub, last, files[0])
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !contains(out, "FAILED: audit verify: "+files[0]+":", "TAMPERED: ") {
		t.Errorf("tampered trail: %v\n%s", err, out)
	}
}
