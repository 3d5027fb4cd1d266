//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServiceReloadStatusMetrics runs the plugin as a sysadmin would: a
// real dockerd and docker CLI, the policy edited on disk (picked up by the
// file watch), a broken policy dropped in (rejected, the last good one stays,
// `docker-authz status` exits 1 and says why), SIGHUP, and the Prometheus
// endpoint scraped over HTTP.
func TestServiceReloadStatusMetrics(t *testing.T) {
	polDir := filepath.Join(t.TempDir(), "policy")
	if err := os.MkdirAll(polDir, 0o755); err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "shared-build-host", "policy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	writePolicy(t, polDir, string(orig))
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e := start(t, polDir, func(*env) []string {
		return []string{"--metrics-addr", metricsAddr, "--watch-interval", "100ms"}
	})

	status := func() (int, string) {
		cmd := exec.Command(e.bin, "status", "--socket", e.socket)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	revision := func(out string) string {
		m := regexp.MustCompile(`revision ([0-9a-f]{12})`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no revision in status:\n%s", out)
		}
		return m[1]
	}
	rc, out := status()
	if rc != 0 || !strings.Contains(out, ": ready") {
		t.Fatalf("status of a fresh instance: %d\n%s", rc, out)
	}
	rev0 := revision(out)

	if _, stderr, err := e.docker("alice", "volume", "ls"); err != nil {
		t.Fatalf("alice volume ls under the example policy: %v %s", err, stderr)
	}

	// Edit: alice may no longer list volumes. Written like an editor does
	// (temp file + rename); no signal.
	writePolicy(t, polDir, string(orig)+"p, alice, route, volume:list, deny\n")
	waitFor(t, 10*time.Second, "the edited policy", func() bool { _, out := status(); return revision(out) != rev0 })
	_, out = status()
	rev1 := revision(out)
	if _, stderr, err := e.docker("alice", "volume", "ls"); err == nil || !strings.Contains(stderr, "authorization denied by plugin") {
		t.Fatalf("alice volume ls after the edit: err %v, %s", err, stderr)
	}

	// A broken policy: rejected, rev1 stays, status exits 1 with the reason.
	writePolicy(t, polDir, string(orig)+"p, alice, route, volume:list, dney\n")
	waitFor(t, 10*time.Second, "the broken policy to be rejected", func() bool { rc, _ := status(); return rc == 1 })
	_, out = status()
	if !strings.Contains(out, "REJECTED") || !strings.Contains(out, `the last field must be allow or deny, not "dney"`) || revision(out) != rev1 {
		t.Fatalf("status after a broken policy:\n%s", out)
	}
	if _, stderr, err := e.docker("alice", "volume", "ls"); err == nil {
		t.Fatalf("the broken policy's predecessor is not in force: alice may list volumes (%s)", stderr)
	}

	// Restored, then SIGHUP: healthy again on the original revision.
	writePolicy(t, polDir, string(orig))
	if err := e.pluginCmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the restored policy", func() bool { rc, out := status(); return rc == 0 && revision(out) == rev0 })
	if _, stderr, err := e.docker("alice", "volume", "ls"); err != nil {
		t.Fatalf("alice volume ls after the restore: %v %s", err, stderr)
	}
	if _, stderr, err := e.docker("alice", "run", "--rm", "--privileged", "busybox:e2e", "true"); err == nil || !strings.Contains(stderr, "privileged") {
		t.Fatalf("privileged run not denied: %v %s", err, stderr)
	}

	// The metrics endpoint, scraped over HTTP.
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	metrics := string(body)
	atLeast := func(series string, min float64) {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(metrics)
		if m == nil {
			t.Errorf("no series %s in /metrics", series)
			return
		}
		if v, _ := strconv.ParseFloat(m[1], 64); v < min {
			t.Errorf("%s = %v, want at least %v", series, v, min)
		}
	}
	atLeast(`docker_authz_decisions_total{result="allow",stage="request"}`, 3)
	atLeast(`docker_authz_decisions_total{result="deny",stage="request"}`, 3)
	atLeast(`docker_authz_decisions_total{result="allow",stage="response"}`, 1)
	atLeast(`docker_authz_denied_facets_total{facet="privileged"}`, 1)
	atLeast(`docker_authz_denied_facets_total{facet="route"}`, 1)
	atLeast(`docker_authz_policy_reloads_total{result="success"}`, 3)
	atLeast(`docker_authz_policy_reloads_total{result="failure"}`, 1)
	atLeast(`docker_authz_policy_last_reload_ok`, 1)
	atLeast(`docker_authz_policy_info{revision="`+rev0+`",source="`+polDir+`"}`, 1)
	atLeast(`docker_authz_decision_duration_seconds_count{stage="request"}`, 6)
	atLeast(`docker_authz_audit_write_duration_seconds_count`, 6)
	if r, err := http.Get("http://" + metricsAddr + "/ready"); err != nil || r.StatusCode != 200 {
		t.Fatalf("/ready: %v %v", r, err)
	}

	// SIGTERM: drained, exit 0, admin socket gone.
	admin := filepath.Join("/run/docker-authz", e.plugin+".sock")
	if _, err := os.Stat(admin); err != nil {
		t.Fatalf("admin socket: %v", err)
	}
	terminate(e.dockerd, 30*time.Second)
	if err := e.pluginCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 25*time.Second, "the plugin to exit", func() bool { return syscall.Kill(e.pluginCmd.Process.Pid, 0) != nil })
	if _, err := os.Stat(admin); !os.IsNotExist(err) {
		t.Fatalf("admin socket left after SIGTERM: %v", err)
	}
	if rc, _ := status(); rc != 3 {
		t.Fatalf("status without an instance: exit %d, want 3", rc)
	}
}

// writePolicy replaces DIR/policy.csv atomically, as editors do.
func writePolicy(t *testing.T, dir, text string) {
	t.Helper()
	tmp := filepath.Join(dir, ".policy.csv.swp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "policy.csv")); err != nil {
		t.Fatal(err)
	}
}
