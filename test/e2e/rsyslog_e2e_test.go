//go:build e2e

package e2e

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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
)

// rsyslogConf is a collector as a site would run it: TLS (gtls driver) on
// a TCP port, client certificates required and checked against the CA,
// audit records of docker-authz written one file per sending host, message
// only (the record's JSON line), so that each file is that host's trail.
const rsyslogConf = `global(
  workDirectory="{{DIR}}/work"
  maxMessageSize="256k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="{{DIR}}/tls/ca.pem"
  defaultNetstreamDriverCertFile="{{DIR}}/tls/server-cert.pem"
  defaultNetstreamDriverKeyFile="{{DIR}}/tls/server-key.pem"
)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.Authmode="x509/certvalid")
input(type="imtcp" address="127.0.0.1" port="{{PORT}}")

template(name="daPerHost" type="string" string="{{DIR}}/collected/%hostname:::secpath-replace%.jsonl")
template(name="daMessage" type="string" string="%msg%\n")
if $app-name == "docker-authz" then {
  action(type="omfile" dynaFile="daPerHost" template="daMessage" dirCreateMode="0750" fileCreateMode="0640")
  stop
}
`

// needRsyslog fails when rsyslogd or its TLS driver is missing.
func needRsyslog(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Fatal("rsyslogd not found: apt-get install rsyslog rsyslog-gnutls (.ci/run does this)")
	}
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		t.Fatal("rsyslog's TLS driver lmnsd_gtls.so not found: apt-get install rsyslog-gnutls (.ci/run does this)")
	}
	return p
}

// spawnLogged starts a process in its own process group with output to a
// file; the test's cleanup stops it (SIGTERM, then SIGKILL).
func spawnLogged(t *testing.T, logPath, name string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	t.Cleanup(func() {
		terminate(cmd, 10*time.Second)
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("---- tail of %s ----\n%s", logPath, b)
		}
	})
	return cmd
}

// stopAndWait sends SIGTERM and waits for the process to exit (bounded).
func stopAndWait(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if syscall.Kill(cmd.Process.Pid, 0) != nil {
			return
		}
		// A zombie until Wait reaps it: check its state.
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)); err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not stop within %v of SIGTERM", cmd.Path, d)
}

// pluginCaller talks the plugin protocol over a plugin's unix socket, as
// dockerd does.
type pluginCaller struct {
	c    *http.Client
	cert []byte // the user's client certificate (PEM)
}

func newPluginCaller(socket string, cert []byte) *pluginCaller {
	return &pluginCaller{cert: cert, c: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}}
}

func (p *pluginCaller) call(t *testing.T, path, method, uri string, body []byte, status int) bool {
	msg := map[string]any{
		"User": "alice", "UserAuthNMethod": "TLS", "RequestMethod": method, "RequestUri": uri,
		"RequestHeaders":          map[string]string{"User-Agent": "Docker-Client/20.10.24+dfsg1 (linux)"},
		"RequestPeerCertificates": [][]byte{p.cert},
	}
	if body != nil {
		msg["RequestBody"] = body
		msg["RequestHeaders"] = map[string]string{"Content-Type": "application/json"}
	}
	if status != 0 {
		msg["ResponseStatusCode"] = status
	}
	b, _ := json.Marshal(msg)
	resp, err := p.c.Post("http://plugin"+path, "application/vnd.docker.plugins.v1.2+json", bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s %s %s: %v", path, method, uri, err)
		return false
	}
	defer resp.Body.Close()
	var r struct {
		Allow bool
		Msg   string
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Errorf("%s: %v", path, err)
	}
	return r.Allow
}

// TestRsyslogCollectsPerHostChains: two plugin instances (hosts build-a and
// build-b, each with its own checkpoint key) forward their audit records
// over syslog with TLS and client certificates to a real rsyslogd, which
// files them per host. Each host's collected file is byte for byte that
// host's local trail, and `docker-authz audit verify` proves each per-host
// chain, signatures included, from the collector's copy alone.
func TestRsyslogCollectsPerHostChains(t *testing.T) {
	rsyslogd := needRsyslog(t)
	dir := t.TempDir()
	for _, d := range []string{"work", "collected", "tls", "keys"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
	}

	// The collector: a CA for the syslog TLS (server and host certificates).
	logCA := identitytest.NewCA(t, identitytest.WithCommonName("syslog CA"))
	caPath, _, _ := logCA.WriteServerDir(filepath.Join(dir, "tls"))
	port := freePort(t)
	conf := strings.NewReplacer("{{DIR}}", dir, "{{PORT}}", fmt.Sprint(port)).Replace(rsyslogConf)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsyslogd, "-N1", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 rejects the configuration: %v\n%s", err, out)
	}
	spawnLogged(t, filepath.Join(dir, "rsyslogd.log"), rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	waitFor(t, 15*time.Second, "rsyslogd TLS listener", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// The users' CA and alice's certificate, for the plugins.
	userCA := identitytest.NewCA(t)
	userCAPath := userCA.WriteCA(filepath.Join(dir, "keys"))
	aliceCert, _ := userCA.Issue("alice", []string{"developers"})

	bin := buildPlugin(t, dir)
	policy := filepath.Join(repoRoot(t), "examples", "shared-build-host")
	type host struct {
		name, socket, trail, pub string
		cmd                      *exec.Cmd
		allowed, denied          int
	}
	hosts := []*host{{name: "build-a"}, {name: "build-b"}}
	for _, h := range hosts {
		h.socket = filepath.Join(dir, h.name+".sock")
		h.trail = filepath.Join(dir, h.name, "audit.jsonl")
		priv := filepath.Join(dir, "keys", h.name+".key")
		h.pub = filepath.Join(dir, "keys", h.name+".pub")
		if _, err := audit.GenerateKeyFiles(priv, h.pub); err != nil {
			t.Fatal(err)
		}
		cert, key := logCA.Issue(h.name, nil)
		certPath := identitytest.WriteFile(t, filepath.Join(dir, "tls", h.name+".pem"), cert)
		keyPath := identitytest.WriteFile(t, filepath.Join(dir, "tls", h.name+"-key.pem"), key)
		h.cmd = spawnLogged(t, filepath.Join(dir, h.name+".log"), bin, "serve",
			"--socket", h.socket, "--policy", policy, "--client-ca", userCAPath,
			"--audit-log", h.trail, "--audit-key", priv, "--audit-checkpoint-every", "25",
			"--audit-host", h.name,
			"--audit-syslog", fmt.Sprintf("tcp+tls://localhost:%d", port),
			"--audit-syslog-ca", caPath, "--audit-syslog-cert", certPath, "--audit-syslog-key", keyPath,
			"--log-format", "json")
		waitFor(t, 10*time.Second, h.name+" plugin socket", func() bool {
			c, err := net.Dial("unix", h.socket)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}

	// Both hosts decide at the same time: container lists (allowed, with
	// their response) and privileged creates (denied).
	privileged := []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`)
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func(i int, h *host) {
			defer wg.Done()
			p := newPluginCaller(h.socket, aliceCert)
			for j := 0; j < 40+10*i; j++ {
				if j%4 == 3 {
					if p.call(t, "/AuthZPlugin.AuthZReq", "POST", "/v1.41/containers/create", privileged, 0) {
						t.Errorf("%s: privileged create allowed", h.name)
					}
					h.denied++
					continue
				}
				if !p.call(t, "/AuthZPlugin.AuthZReq", "GET", "/v1.41/containers/json", nil, 0) {
					t.Errorf("%s: container list denied", h.name)
					continue
				}
				p.call(t, "/AuthZPlugin.AuthZRes", "GET", "/v1.41/containers/json", nil, 200)
				h.allowed++
			}
		}(i, h)
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Stopping a plugin seals its trail with a last checkpoint, which is
	// forwarded too.
	for _, h := range hosts {
		stopAndWait(t, h.cmd, 15*time.Second)
	}

	for _, h := range hosts {
		local, err := os.ReadFile(h.trail)
		if err != nil {
			t.Fatal(err)
		}
		collected := filepath.Join(dir, "collected", h.name+".jsonl")
		var got []byte
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			got, _ = os.ReadFile(collected)
			if bytes.Equal(got, local) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !bytes.Equal(got, local) {
			t.Fatalf("%s: the collected file (%d bytes, %d lines) is not the local trail (%d bytes, %d lines)\nfirst collected line: %.300s",
				h.name, len(got), bytes.Count(got, []byte("\n")), len(local), bytes.Count(local, []byte("\n")), firstLine(got))
		}
		lines := bytes.Count(got, []byte("\n"))
		t.Logf("%s: %d records collected (%d allowed with responses, %d denied, checkpoints)", h.name, lines, h.allowed, h.denied)
		if lines < 2*h.allowed+h.denied {
			t.Fatalf("%s: only %d records for %d allowed and %d denied requests", h.name, lines, h.allowed, h.denied)
		}
		if n := bytes.Count(got, []byte(`"host":"`+h.name+`"`)); n != lines {
			t.Fatalf("%s: %d of %d collected records carry this host's name", h.name, n, lines)
		}

		// The auditor verifies each host's chain from the collector's copy.
		out, stderr, code := runBin(t, bin, "audit", "verify", "--key", h.pub, collected)
		if code != 0 || !strings.HasPrefix(out, "OK") || !strings.Contains(out, "every signature verified") {
			t.Fatalf("%s: audit verify --key on the collected file: exit %d\n%s%s", h.name, code, out, stderr)
		}
	}
	// Another host's key does not verify a host's chain: the chains are
	// per host and cannot be passed off as one another.
	if out, _, code := runBin(t, bin, "audit", "verify", "--key", hosts[1].pub, filepath.Join(dir, "collected", "build-a.jsonl")); code != 1 {
		t.Fatalf("build-a's collected trail verified with build-b's key: exit %d\n%s", code, out)
	}
	// The collected files answer the auditor's questions for the fleet.
	out, _, code := runBin(t, bin, "audit", "stats", filepath.Join(dir, "collected", "build-a.jsonl"), filepath.Join(dir, "collected", "build-b.jsonl"))
	if code != 0 || !contains(out, "HOST", "build-a", "build-b", "privileged") {
		t.Fatalf("audit stats on the collected files:\n%s", out)
	}
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}
