package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
)

// repoRoot is the module root, from this file's location.
func repoRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// caller is who sends a request: the User field dockerd fills in and the
// peer certificates (PEM) it forwards.
type caller struct {
	user  string
	certs [][]byte
}

// plugin is a running docker-authz serve process.
type plugin struct {
	bin, socket, audit string
	client             *http.Client
}

// startPlugin builds the binary and serves policyDir with the test CA.
func startPlugin(t *testing.T, caPath, policyDir string) *plugin {
	t.Helper()
	dir := t.TempDir()
	p := &plugin{
		bin:    filepath.Join(dir, "docker-authz"),
		socket: filepath.Join(dir, "plugin.sock"),
		audit:  filepath.Join(dir, "audit", "audit.jsonl"),
	}
	build := exec.Command("go", "build", "-o", p.bin, "./cmd/docker-authz")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, p.bin, "serve", "--socket", p.socket, "--policy", policyDir,
		"--client-ca", caPath, "--audit-log", p.audit, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	p.client = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.socket)
		}},
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client.Post("http://plugin/Plugin.Activate", "application/json", nil)
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("plugin did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answer is the plugin's AuthZReq response.
type answer struct {
	Allow bool
	Msg   string
	Err   string
}

// authZReq sends one AuthZReq as dockerd 20.10 would.
func (p *plugin) authZReq(t *testing.T, who caller, method, uri string, headers map[string]string, body []byte) answer {
	t.Helper()
	msg := map[string]any{
		"User":                    who.user,
		"UserAuthNMethod":         "",
		"RequestMethod":           method,
		"RequestUri":              uri,
		"RequestBody":             body,
		"RequestHeaders":          headers,
		"RequestPeerCertificates": who.certs,
	}
	if len(who.certs) > 0 {
		msg["UserAuthNMethod"] = "TLS"
	}
	return p.raw(t, "/AuthZPlugin.AuthZReq", msg)
}

func (p *plugin) raw(t *testing.T, path string, msg any) answer {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.client.Post("http://plugin"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: decoding the answer: %v", path, err)
	}
	return a
}

// pki is the test CA, the users' certificates and the attacker's.
type pki struct {
	caPath                                     string
	alice, admin, bob                          caller
	anonymous, otherCA, forged, mismatch, swap caller
}

func newPKI(t *testing.T) pki {
	ca := identitytest.NewCA(t)
	dir := t.TempDir()
	caPath := ca.WriteCA(dir)
	alice, _ := ca.Issue("alice", []string{"developers"})
	bob, _ := ca.Issue("bob", []string{"developers"})
	admin, _ := ca.Issue("root-admin", []string{"admins"})
	other := identitytest.NewCA(t)
	foreignAdmin, _ := other.Issue("root-admin", []string{"admins"})
	selfAdmin, _ := identitytest.SelfSigned(t, "root-admin", []string{"admins"})
	return pki{
		caPath:    caPath,
		alice:     caller{"alice", [][]byte{alice}},
		bob:       caller{"bob", [][]byte{bob}},
		admin:     caller{"root-admin", [][]byte{admin}},
		anonymous: caller{},
		// A certificate that names an admin, from a CA the plugin does not trust.
		otherCA: caller{"root-admin", [][]byte{foreignAdmin}},
		// alice's real leaf followed by a self-signed certificate claiming
		// O=admins: only the leaf may count.
		forged: caller{"alice", [][]byte{alice, selfAdmin}},
		// dockerd's User field disagreeing with the verified leaf.
		mismatch: caller{"root-admin", [][]byte{alice}},
		// The forged certificate first, alice's real one after it.
		swap: caller{"root-admin", [][]byte{selfAdmin, alice}},
	}
}

func jsonHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "User-Agent": "Docker-Client/20.10.24+dfsg1 (linux)"}
}

func must(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
