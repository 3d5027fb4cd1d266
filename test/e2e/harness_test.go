//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
)

// env is one running stack: plugin + dockerd + TLS users.
type env struct {
	t          *testing.T
	dir        string
	bin        string // plugin binary
	plugin     string // plugin name as dockerd knows it
	socket     string // plugin socket
	auditLog   string
	clientCA   string
	dockerHost string            // tcp://127.0.0.1:PORT
	users      map[string]string // user -> DOCKER_CERT_PATH
	dockerCLI  string
	pluginCmd  *exec.Cmd
	dockerd    *exec.Cmd
	dockerdLog string
	pluginLog  string
	dockerSock string // dockerd's unix socket (no TLS), e.g. for serve --docker-host
}

// startOption adds flags to the plugin's serve command line; it runs once
// e.dir and e.dockerSock are set, before the plugin starts.
type startOption func(e *env) []string

// repoRoot finds the module root from this file's location.
func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// need fails the test when a tool is missing: the e2e suite never skips.
func need(t *testing.T, names ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the end-to-end tests start dockerd and must run as root")
	}
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s not found: install Debian's docker.io and busybox-static (.ci/run does this)", n)
		}
	}
}

// buildPlugin compiles the real binary once per test binary run.
func buildPlugin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "docker-authz")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/docker-authz")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start brings up the plugin with policyDir and a dockerd that uses it.
func start(t *testing.T, policyDir string, opts ...startOption) *env {
	need(t, "dockerd", "containerd", "runc", "busybox")
	dir, err := os.MkdirTemp("", "dae2e-")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, users: map[string]string{}}
	t.Cleanup(e.stop)
	e.bin = buildPlugin(t, dir)
	e.plugin = "docker-authz-e2e-" + randomSuffix()
	e.socket = filepath.Join("/run/docker/plugins", e.plugin+".sock")
	e.auditLog = filepath.Join(dir, "audit", "audit.jsonl")

	ca := identitytest.NewCA(t)
	tlsDir := filepath.Join(dir, "tls")
	caPath, certPath, keyPath := ca.WriteServerDir(tlsDir)
	e.clientCA = caPath
	for user, orgs := range map[string][]string{
		"alice":      {"developers"},
		"bob":        {"developers"},
		"root-admin": {"admins"},
		"mallory":    nil,
	} {
		e.users[user] = ca.WriteClientDir(filepath.Join(dir, "users", user), user, orgs)
	}

	// The plugin first: dockerd looks the socket up when a request comes.
	e.pluginLog = filepath.Join(dir, "plugin.log")
	e.dockerSock = filepath.Join(dir, "docker.sock")
	pluginArgs := []string{"serve",
		"--socket", e.socket, "--policy", policyDir, "--client-ca", caPath,
		"--audit-log", e.auditLog, "--log-level", "debug", "--log-format", "json"}
	for _, o := range opts {
		pluginArgs = append(pluginArgs, o(e)...)
	}
	e.pluginCmd = e.spawn(e.pluginLog, e.bin, pluginArgs...)
	waitFor(t, 10*time.Second, "plugin socket", func() bool {
		c, err := net.Dial("unix", e.socket)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	e.startDockerd(caPath, certPath, keyPath, "--authorization-plugin", e.plugin)
	return e
}

// startDockerd starts a dockerd in e.dir (own sockets, data-root,
// exec-root, containerd namespaces; no iptables, no bridge) with TLS on a
// loopback port, plus extra flags, and waits until root-admin reaches it.
func (e *env) startDockerd(caPath, certPath, keyPath string, extra ...string) {
	e.t.Helper()
	e.dockerHost = fmt.Sprintf("tcp://127.0.0.1:%d", freePort(e.t))
	ns := "dae2e" + randomSuffix()
	e.dockerdLog = filepath.Join(e.dir, "dockerd.log")
	args := []string{
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "dockerd.pid"),
		"-H", "unix://" + filepath.Join(e.dir, "docker.sock"),
		"-H", e.dockerHost,
		"--tlsverify", "--tlscacert", caPath, "--tlscert", certPath, "--tlskey", keyPath,
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		"--containerd-namespace", ns, "--containerd-plugins-namespace", ns + "p",
		"--log-level", "info"}
	e.dockerd = e.spawn(e.dockerdLog, "dockerd", append(args, extra...)...)
	e.dockerCLI = "docker"
	waitFor(e.t, 60*time.Second, "dockerd", func() bool {
		_, _, err := e.docker("root-admin", "version", "--format", "{{.Server.Version}}")
		return err == nil
	})
}

// spawn starts a process in its own process group, output to logPath.
func (e *env) spawn(logPath, name string, args ...string) *exec.Cmd {
	f, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	return cmd
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s did not come up within %v", what, d)
}

// stop ends dockerd (which stops its containerd and containers) and the
// plugin, then removes what they left.
func (e *env) stop() {
	if e.t.Failed() {
		for _, l := range []string{e.dockerdLog, e.pluginLog} {
			if l == "" {
				continue
			}
			b, _ := os.ReadFile(l)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			e.t.Logf("---- tail of %s ----\n%s", l, b)
		}
	}
	terminate(e.dockerd, 30*time.Second)
	terminate(e.pluginCmd, 10*time.Second)
	if e.socket != "" {
		os.Remove(e.socket)
	}
	if e.dir != "" {
		// dockerd unmounts on a clean stop; anything left is unmounted here
		// so the temp tree can go.
		_ = exec.Command("sh", "-c", "grep -o ' "+e.dir+"[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l").Run()
		os.RemoveAll(e.dir)
	}
}

func terminate(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	pgid := -cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if syscall.Kill(cmd.Process.Pid, 0) != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
}

// docker runs the docker CLI as user (TLS client certificate).
func (e *env) docker(user string, args ...string) (stdout, stderr string, err error) {
	return e.dockerWith(e.dockerCLI, user, args...)
}

func (e *env) dockerWith(cli, user string, args ...string) (string, string, error) {
	certDir, ok := e.users[user]
	if !ok {
		e.t.Fatalf("no such test user %q", user)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Env = append(os.Environ(),
		"DOCKER_HOST="+e.dockerHost,
		"DOCKER_TLS_VERIFY=1",
		"DOCKER_CERT_PATH="+certDir,
		"DOCKER_CONFIG="+filepath.Join(certDir, "config"),
		"DOCKER_CONTEXT=",
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// importBusybox makes a runnable image without a registry, as user.
func (e *env) importBusybox(user, ref string) {
	e.t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		e.t.Fatal(err)
	}
	root := filepath.Join(e.dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for _, a := range []string{"sh", "true", "echo", "cat", "ls", "sleep", "id"} {
		_ = os.Symlink("busybox", filepath.Join(root, "bin", a))
	}
	tarPath := filepath.Join(e.dir, "rootfs.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarPath, ".").CombinedOutput(); err != nil {
		e.t.Fatalf("tar: %v %s", err, out)
	}
	if _, stderr, err := e.docker(user, "import", tarPath, ref); err != nil {
		e.t.Fatalf("docker import as %s: %v\n%s", user, err, stderr)
	}
}

// auditRecord is the part of an audit record the tests look at.
type auditRecord struct {
	Seq       uint64   `json:"seq"`
	ID        string   `json:"id"`
	Stage     string   `json:"stage"`
	RequestID string   `json:"request_id"`
	User      string   `json:"user"`
	Groups    []string `json:"groups"`
	Method    string   `json:"method"`
	URI       string   `json:"uri"`
	Route     string   `json:"route"`
	Facets    []struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"facets"`
	Decision string   `json:"decision"`
	Reason   string   `json:"reason"`
	Rules    []string `json:"rules"`
	Status   int      `json:"status"`
	Raw      string   `json:"-"`
}

func (r auditRecord) hasFacet(kind, value string) bool {
	for _, f := range r.Facets {
		if f.Kind == kind && (value == "" || f.Value == value) {
			return true
		}
	}
	return false
}

func (e *env) audit() []auditRecord {
	e.t.Helper()
	f, err := os.Open(e.auditLog)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	var out []auditRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			e.t.Fatalf("audit line is not JSON: %v: %s", err, sc.Text())
		}
		r.Raw = sc.Text()
		out = append(out, r)
	}
	return out
}

// pluginCmdOut runs the plugin binary (audit verify, explain, ...).
func (e *env) pluginCmdOut(args ...string) (string, error) {
	out, err := exec.Command(e.bin, args...).CombinedOutput()
	return string(out), err
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
