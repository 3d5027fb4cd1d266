package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/policy"
)

func TestAdminSocketFor(t *testing.T) {
	for _, c := range []struct{ flag, plugin, want string }{
		{"auto", "/run/docker/plugins/docker-authz.sock", "/run/docker-authz/docker-authz.sock"},
		{"auto", "/var/run/docker/plugins/authz.sock", "/run/docker-authz/authz.sock"},
		{"auto", "/tmp/x/p.sock", "/tmp/x/p.admin.sock"},
		{"/srv/a.sock", "/run/docker/plugins/docker-authz.sock", "/srv/a.sock"},
		{"off", "/run/docker/plugins/docker-authz.sock", ""},
		{"", "/run/docker/plugins/docker-authz.sock", ""},
	} {
		if got := resolveAdminSocket(c.flag, c.plugin); got != c.want {
			t.Errorf("--admin-socket %q, --socket %q: %q, want %q", c.flag, c.plugin, got, c.want)
		}
	}
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func adminGet(t *testing.T, sock, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	res, err := c.Get("http://admin" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func status(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := run(append([]string{"status"}, args...), &out, &errb)
	return rc, out.String(), errb.String()
}

func TestOpsStatusReadyAndReload(t *testing.T) {
	dir := t.TempDir()
	polDir := filepath.Join(dir, "policy")
	os.Mkdir(polDir, 0o755)
	writeFile(t, filepath.Join(polDir, "policy.csv"), "p, alice, *, *, allow\n")
	sock := filepath.Join(dir, "p.sock")
	o := serveOptions{socket: sock, policyDir: polDir, ops: opsOptions{adminSocket: "auto", watch: 10 * time.Millisecond}}
	x, err := newOps(o, nil, nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			x.close()
		}
	}()
	rev := x.holder.Policy().Revision

	ver, _ := identity.NewVerifier(identity.Config{LocalUser: "alice"})
	trail, err := audit.Open(filepath.Join(dir, "audit.jsonl"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer trail.Close()
	srv := authz.NewServer(authz.Config{Name: "p", Identity: ver, Policy: x.holder, Audit: trail, Observer: x.observer()})
	if err := x.start(srv, trail, "p", sock); err != nil {
		t.Fatal(err)
	}
	admin := filepath.Join(dir, "p.admin.sock")
	if fi, err := os.Stat(admin); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket: %v %v", fi, err)
	}

	rr := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rr, httptest.NewRequest("POST", "/AuthZPlugin.AuthZReq", strings.NewReader(`{"RequestMethod":"GET","RequestUri":"/v1.41/containers/json"}`)))
	if !strings.Contains(rr.Body.String(), `"Allow":true`) {
		t.Fatalf("request not allowed: %s", rr.Body)
	}

	rc, out, errs := status("--socket", sock)
	if rc != statusOK || !strings.Contains(out, ": ready") || !strings.Contains(out, "revision "+rev) || !strings.Contains(out, "1 allowed, 0 denied, 0 errors") {
		t.Fatalf("status: rc %d\n%s%s", rc, out, errs)
	}
	rc, out, _ = status("--admin-socket", admin, "--json")
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rc != 0 {
		t.Fatalf("status --json: rc %d, %v\n%s", rc, err, out)
	}
	if !rep.Ready || rep.Policy.Revision != rev || rep.Policy.Source != polDir || rep.Decisions.Allowed != 1 ||
		rep.Audit.Records != 1 || rep.Audit.LastSeq != 1 || rep.Plugin != "p" || rep.UptimeSeconds <= 0 || !rep.Policy.Reload.LastOK {
		t.Fatalf("status --json: %+v", rep)
	}
	if code, body := adminGet(t, admin, "/ready"); code != 200 || body != "ready\n" {
		t.Fatalf("/ready: %d %q", code, body)
	}

	// A broken policy dropped in: rejected, old revision stays, status says so.
	writeFile(t, filepath.Join(polDir, "policy.csv"), "p, alice, *, *, alow\n")
	waitUntil(t, func() bool { rc, _, _ := status("--socket", sock); return rc == statusUnhealthy })
	rc, out, _ = status("--socket", sock)
	if !strings.Contains(out, "REJECTED (file change") || !strings.Contains(out, `policy.csv:1: the last field must be allow or deny, not "alow"`) || !strings.Contains(out, "revision "+rev+" stays in force") {
		t.Fatalf("status after a broken policy:\n%s", out)
	}
	if x.holder.Policy().Revision != rev {
		t.Fatal("broken policy in force")
	}
	// Fixed: picked up, healthy again.
	writeFile(t, filepath.Join(polDir, "policy.csv"), "p, alice, *, *, allow\np, alice, privileged, *, deny\n")
	waitUntil(t, func() bool { rc, _, _ := status("--socket", sock); return rc == statusOK })
	if x.holder.Policy().Revision == rev {
		t.Fatal("fixed policy not in force")
	}

	// SIGTERM: not ready while draining.
	x.shuttingDown()
	if code, body := adminGet(t, admin, "/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "shutting down") {
		t.Fatalf("/ready while shutting down: %d %q", code, body)
	}
	if rc, out, _ := status("--socket", sock); rc != statusUnhealthy || !strings.Contains(out, "NOT READY: shutting down") {
		t.Fatalf("status while shutting down: %d\n%s", rc, out)
	}
	x.close()
	closed = true
	if _, err := os.Stat(admin); !os.IsNotExist(err) {
		t.Fatalf("admin socket left behind: %v", err)
	}
	if rc, _, errs := status("--socket", sock); rc != statusUnreachable || !strings.Contains(errs, "is `docker-authz serve` running?") {
		t.Fatalf("status without an instance: %d %s", rc, errs)
	}
}

func TestOpsNotReadyWhenAuditFails(t *testing.T) {
	o := &opsObserver{}
	x := &ops{holder: authz.NewPolicyHolder(nil), obs: o}
	x.serving.Store(true)
	why := strings.Join(x.notReady(), "; ")
	if !strings.Contains(why, "no policy in force") {
		t.Fatalf("not ready: %q", why)
	}
	o.AuditWritten(time.Millisecond, io.ErrShortWrite)
	if why := strings.Join(x.notReady(), "; "); !strings.Contains(why, "the last audit write failed") {
		t.Fatalf("not ready: %q", why)
	}
	o.AuditWritten(time.Millisecond, nil)
	if why := strings.Join(x.notReady(), "; "); strings.Contains(why, "audit") {
		t.Fatalf("audit recovered but: %q", why)
	}
}

func TestServeRefusesPolicyFailingCases(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "policy.csv"), "p, alice, *, *, allow\n")
	saved := policyCases
	defer func() { policyCases = saved }()
	policyCases = func(fs.FS, string, *policy.Policy) error { return io.ErrUnexpectedEOF }
	if _, err := newOps(serveOptions{socket: filepath.Join(dir, "p.sock"), policyDir: dir}, nil, nil, quietLog()); err == nil || !strings.Contains(err.Error(), "fails its own test cases") {
		t.Fatalf("err = %v", err)
	}
}

func TestServeManual(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"help", "serve"}, &out, &errb); rc != 0 {
		t.Fatalf("help serve: %d %s", rc, errb.String())
	}
	man := out.String()
	for _, want := range []string{"NAME", "SYNOPSIS", "OPTIONS", "SIGNALS", "SIGHUP", "SIGTERM", "FILES", "EXIT STATUS",
		"--socket PATH", "--admin-socket", "(default auto)", "--metrics-addr", "--watch-interval", "(default 1s)", "/var/log/docker-authz/audit.jsonl"} {
		if !strings.Contains(man, want) {
			t.Errorf("the serve manual lacks %q", want)
		}
	}
	out.Reset()
	run([]string{"serve", "--help"}, &out, &errb)
	if out.String() != man {
		t.Error("serve --help and help serve differ")
	}
	out.Reset()
	errb.Reset()
	if rc := run([]string{"serve", "--no-such-flag"}, &out, &errb); rc != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "docker-authz help serve") {
		t.Fatalf("bad flag: rc %d out %q err %q", rc, out.String(), errb.String())
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("timed out")
}
