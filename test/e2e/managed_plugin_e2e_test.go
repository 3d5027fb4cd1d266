//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
)

// TestManagedPlugin builds the managed plugin with `make plugin`, creates it
// in a real dockerd with `docker plugin create` (no registry), points its
// mounts at a policy and an audit directory, enables it, turns it on as
// dockerd's authorization plugin by a daemon.json reload, and checks that
// it decides, audits, and answers `docker-authz status` from the host.
func TestManagedPlugin(t *testing.T) {
	need(t, "dockerd", "containerd", "runc", "busybox", "make")
	dir, err := os.MkdirTemp("", "dae2e-mp-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, users: map[string]string{}}
	t.Cleanup(e.stop)

	ca := identitytest.NewCA(t)
	caPath, certPath, keyPath := ca.WriteServerDir(filepath.Join(dir, "tls"))
	for user, orgs := range map[string][]string{"alice": {"developers"}, "root-admin": {"admins"}} {
		e.users[user] = ca.WriteClientDir(filepath.Join(dir, "users", user), user, orgs)
	}

	// The plugin's host directories: the example policy with the client CA,
	// and an empty audit directory.
	policyDir, auditDir := filepath.Join(dir, "policy"), filepath.Join(dir, "audit")
	for _, d := range []string{policyDir, auditDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	example := filepath.Join(repoRoot(t), "examples", "shared-build-host")
	for _, f := range []string{"policy.csv", "model.conf", "cases.yaml"} {
		copyFile(t, filepath.Join(example, f), filepath.Join(policyDir, f))
	}
	copyFile(t, caPath, filepath.Join(policyDir, "client-ca.pem"))

	pluginDir, bin := filepath.Join(dir, "mp"), filepath.Join(dir, "docker-authz")
	mk := exec.Command("make", "plugin", "PLUGIN_DIR="+pluginDir, "BIN="+bin)
	mk.Dir = repoRoot(t)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make plugin: %v\n%s", err, out)
	}

	// dockerd without authorization first: the plugin is created and
	// enabled through the API it will then guard.
	daemonJSON := filepath.Join(dir, "daemon.json")
	writeText(t, daemonJSON, "{}\n")
	e.startDockerd(caPath, certPath, keyPath, "--config-file", daemonJSON)
	e.importBusybox("root-admin", "busybox:e2e")

	name := "docker-authz-e2e:latest"
	admin := func(args ...string) string {
		t.Helper()
		out, stderr, err := e.docker("root-admin", args...)
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return strings.TrimSpace(out)
	}
	admin("plugin", "create", name, pluginDir)
	admin("plugin", "set", name, "policy.source="+policyDir, "audit.source="+auditDir, "args=--log-level debug")
	admin("plugin", "enable", name)
	if got := admin("plugin", "inspect", "--format", "{{.Enabled}} {{.Config.Interface.Socket}}", name); got != "true docker-authz.sock" {
		t.Fatalf("plugin inspect: %q", got)
	}

	writeText(t, daemonJSON, `{"authorization-plugins": ["`+name+`"]}`+"\n")
	if err := syscall.Kill(e.dockerd.Process.Pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	const denied = "authorization denied by plugin " + "docker-authz-e2e:latest"
	waitFor(t, 30*time.Second, "authorization through the managed plugin", func() bool {
		_, stderr, err := e.docker("alice", "create", "--privileged", "--network", "none", "busybox:e2e", "true")
		return err != nil && strings.Contains(stderr, denied)
	})

	_, stderr, err := e.docker("alice", "run", "--rm", "--privileged", "--network", "none", "busybox:e2e", "true")
	if err == nil || !contains(stderr, denied, "privileged") {
		t.Fatalf("alice's privileged run: err %v\n%s", err, stderr)
	}
	_, stderr, err = e.docker("alice", "run", "--rm", "--network", "none", "-v", "/:/host", "busybox:e2e", "true")
	if err == nil || !contains(stderr, denied, "bind") {
		t.Fatalf("alice's host mount: err %v\n%s", err, stderr)
	}
	if out, stderr, err := e.docker("alice", "run", "--rm", "--network", "none", "busybox:e2e", "echo", "managed-ok"); err != nil || !strings.Contains(out, "managed-ok") {
		t.Fatalf("alice's plain run: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := e.docker("root-admin", "create", "--network", "none", "-v", "/tmp:/h", "busybox:e2e", "true"); err != nil {
		t.Fatalf("the admin's bind mount: %v\n%s", err, stderr)
	}

	// The settable args reached serve: its debug lines are in dockerd's log.
	if b, _ := os.ReadFile(e.dockerdLog); !strings.Contains(string(b), `\"level\":\"debug\"`) {
		t.Error("no debug line from the plugin in dockerd's log: args=--log-level debug was not applied")
	}

	// The trail is on the host, complete and verifiable.
	e.auditLog = filepath.Join(auditDir, "audit.jsonl")
	var alice, refused int
	for _, r := range e.audit() {
		if r.User == "alice" {
			alice++
			if r.Decision == "deny" {
				refused++
			}
		}
	}
	if alice == 0 || refused < 2 {
		t.Fatalf("audit trail: %d records of alice, %d denied", alice, refused)
	}
	if out, err := exec.Command(bin, "audit", "verify", e.auditLog).CombinedOutput(); err != nil {
		if code := exitCode(err); code != 0 && code != 3 {
			t.Fatalf("audit verify: %v\n%s", err, out)
		}
	}

	// status reaches the plugin through its runtime directory on the host
	// (dockerd 20.10 keeps it in /run/docker/plugins/ID whatever --exec-root).
	id := admin("plugin", "inspect", "--format", "{{.Id}}", name)
	sock := filepath.Join("/run/docker/plugins", id, "admin.sock") // a unix socket path has at most 107 bytes
	if out, err := exec.Command(bin, "status", "--admin-socket", sock).CombinedOutput(); err != nil || !strings.Contains(string(out), "ready") {
		t.Fatalf("status: %v\n%s", err, out)
	}

	// Back to no authorization before dockerd stops, so that its shutdown
	// does not depend on the plugin it is stopping.
	writeText(t, daemonJSON, "{}\n")
	_ = syscall.Kill(e.dockerd.Process.Pid, syscall.SIGHUP)
	waitFor(t, 30*time.Second, "authorization off", func() bool {
		_, _, err := e.docker("alice", "create", "--privileged", "--network", "none", "busybox:e2e", "true")
		return err == nil
	})
	admin("plugin", "disable", "--force", name)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		if os.IsNotExist(err) {
			return
		}
		t.Fatal(err)
	}
	writeText(t, to, string(b))
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}
