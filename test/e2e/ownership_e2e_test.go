//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOwnership runs the plugin with --ownership against the real dockerd
// (lookups over dockerd's own unix socket) and the shared-build-host-owners
// policy: alice and bob (developers) each touch only their own containers
// and volumes, the admin touches everything, quotas hold, and a name that
// changes hands changes owner.
func TestOwnership(t *testing.T) {
	e := start(t, filepath.Join(repoRoot(t), "examples", "shared-build-host-owners"), func(e *env) []string {
		return []string{"--ownership", "--docker-host", "unix://" + e.dockerSock}
	})
	e.importBusybox("root-admin", "busybox:e2e")
	const label = "com.docker-authz.owner"
	denied := "authorization denied by plugin " + e.plugin + ": "
	limits := []string{"--network", "none", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64"}

	ok := func(user string, args ...string) string {
		t.Helper()
		out, stderr, err := e.docker(user, args...)
		if err != nil {
			t.Fatalf("%s: docker %s: %v\n%s", user, strings.Join(args, " "), err, stderr)
		}
		return strings.TrimSpace(out)
	}
	refused := func(user string, want []string, args ...string) {
		t.Helper()
		_, stderr, err := e.docker(user, args...)
		if err == nil {
			t.Fatalf("%s: docker %s was allowed", user, strings.Join(args, " "))
		}
		if !contains(stderr, append([]string{denied}, want...)...) {
			t.Fatalf("%s: docker %s: refused, but the message lacks %q:\n%s", user, strings.Join(args, " "), want, stderr)
		}
	}
	run := func(user, name string, extra ...string) string {
		t.Helper()
		args := append([]string{"run", "-d", "--name", name, "--label", label + "=" + user}, limits...)
		args = append(args, extra...)
		return ok(user, append(args, "busybox:e2e", "sleep", "600")...)
	}

	// Creating needs the owner label, naming the caller.
	refused("alice", []string{"owner label is missing", "--label " + label + "=alice"},
		append(append([]string{"run", "-d"}, limits...), "busybox:e2e", "true")...)
	refused("alice", []string{"owner label is other", "--label " + label + "=alice"},
		append(append([]string{"run", "-d", "--label", label + "=bob"}, limits...), "busybox:e2e", "true")...)

	id := run("alice", "aweb")
	if len(id) != 64 {
		t.Fatalf("container id %q", id)
	}

	t.Run("bob cannot touch alice's container", func(t *testing.T) {
		other := []string{"bob (group:developers) may not act on an object whose ownership is other", "owned by alice"}
		for _, args := range [][]string{
			{"stop", "-t", "1", "aweb"},
			{"exec", "aweb", "echo", "hi"},
			{"logs", "aweb"},
			{"rm", "-f", "aweb"},
			{"inspect", "aweb"},
			{"kill", id[:12]}, // an id prefix resolves like dockerd resolves it
			{"restart", id},   // and the full id
			{"cp", "aweb:/etc/hostname", "-"},
			{"top", "aweb"},
		} {
			refused("bob", other, args...)
		}
		// An exec alice created cannot be started or inspected by bob
		// (the exec id resolves to alice's container).
		code, body := apiCall(t, e, "alice", "POST", "/v1.41/containers/aweb/exec", `{"Cmd":["true"]}`)
		var ex struct{ Id string }
		if code != 201 || json.Unmarshal([]byte(body), &ex) != nil || ex.Id == "" {
			t.Fatalf("alice's exec create: %d %s", code, body)
		}
		for _, c := range [][3]string{
			{"POST", "/v1.41/exec/" + ex.Id + "/start", `{"Detach":true}`},
			{"GET", "/v1.41/exec/" + ex.Id + "/json", ""},
			{"POST", "/v1.41/exec/" + ex.Id + "/resize?h=10&w=10", ""},
		} {
			code, body := apiCall(t, e, "bob", c[0], c[1], c[2])
			if code != 403 || !contains(body, "ownership is other", "owned by alice") {
				t.Errorf("bob's %s %s: %d %s", c[0], c[1], code, body)
			}
		}
		if code, body := apiCall(t, e, "alice", "GET", "/v1.41/exec/"+ex.Id+"/json", ""); code != 200 {
			t.Errorf("alice's exec inspect: %d %s", code, body)
		}
	})

	t.Run("alice can", func(t *testing.T) {
		if out := ok("alice", "exec", "aweb", "echo", "hi-from-alice"); out != "hi-from-alice" {
			t.Fatalf("exec output %q", out)
		}
		ok("alice", "logs", "aweb")
		ok("alice", "inspect", "--format", "{{.Id}}", id[:10])
		ok("alice", "ps", "--filter", "label="+label+"=alice")
		ok("alice", "stop", "-t", "1", id[:12])
		ok("alice", "start", "aweb")
	})

	t.Run("the admin can", func(t *testing.T) {
		ok("root-admin", "exec", "aweb", "true")
		ok("root-admin", "logs", "aweb")
	})

	t.Run("containers without owner belong to no one", func(t *testing.T) {
		ok("root-admin", "create", "--name", "legacy", "--network", "none", "busybox:e2e", "true")
		refused("alice", []string{"ownership is none", "has no " + label + " label"}, "rm", "legacy")
		refused("alice", []string{"ownership is none", "no such container"}, "stop", "ghost")
		ok("root-admin", "rm", "legacy")
	})

	t.Run("quotas", func(t *testing.T) {
		// Names here are never all hex digits: a name like "a3" may also be a
		// prefix of another container's random id, and the plugin then refuses
		// the name on purpose (owner.Enricher), as the subtest "a name that is
		// another user's id prefix" checks deterministically.
		run("alice", "alice-2")
		run("alice", "alice-3")
		refused("alice", []string{"may not run 4 containers at once", "running-containers, >3, deny"},
			append(append([]string{"run", "-d", "--name", "alice-4", "--label", label + "=alice"}, limits...), "busybox:e2e", "sleep", "600")...)
		// bob's count is his own.
		run("bob", "bob-1")
		// resources on create and on update
		refused("alice", []string{"memory limit 4294967296"},
			"create", "--label", label+"=alice", "--network", "none", "--memory", "4g", "--cpus", "1", "--pids-limit", "64", "busybox:e2e", "true")
		refused("alice", []string{"memory limit 0"},
			"create", "--label", label+"=alice", "--network", "none", "--cpus", "1", "--pids-limit", "64", "busybox:e2e", "true")
		refused("alice", []string{"memory limit 3221225472"}, "update", "--memory", "3g", "--memory-swap", "4g", "aweb")
		refused("bob", []string{"ownership is other"}, "update", "--memory", "32m", "aweb")
		ok("alice", "stop", "-t", "1", "alice-3")
		ok("alice", "start", "alice-3") // back to 3: allowed
	})

	t.Run("a name that changes hands changes owner", func(t *testing.T) {
		ok("alice", "create", "--name", "shared", "--label", label+"=alice", "--network", "none", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", "busybox:e2e", "true")
		ok("alice", "inspect", "shared") // cached now
		ok("alice", "inspect", "shared")
		refused("bob", []string{"owned by alice"}, "rm", "shared")
		ok("alice", "rm", "shared")
		bobs := ok("bob", "create", "--name", "shared", "--label", label+"=bob", "--network", "none", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", "busybox:e2e", "true")
		refused("alice", []string{"ownership is other", "owned by bob"}, "rm", "shared")
		ok("bob", "rm", "shared")

		// The trail names the owner and the resolved id.
		found := false
		for _, r := range e.audit() {
			var x struct {
				Owner    string `json:"owner"`
				ObjectID string `json:"object_id"`
			}
			if err := json.Unmarshal([]byte(r.Raw), &x); err != nil {
				t.Fatal(err)
			}
			if r.User == "alice" && r.Route == "container:delete" && r.Decision == "deny" && x.Owner == "bob" && x.ObjectID == bobs {
				found = true
			}
		}
		if !found {
			t.Error("no audit record of alice's refused rm naming owner bob and his container id")
		}
	})

	t.Run("volumes", func(t *testing.T) {
		refused("alice", []string{"owner label is missing"}, "volume", "create", "nolabel")
		ok("alice", "volume", "create", "--label", label+"=alice", "avol")
		refused("bob", []string{"owned by alice"}, "volume", "rm", "avol")
		refused("bob", []string{"owned by alice"}, "volume", "inspect", "avol")
		ok("alice", "volume", "rm", "avol")
	})

	// What a new container reaches into: others' networks, legacy links
	// (which copy the linked container's environment) and volumes-from.
	// dockerd runs with --bridge=none here, so these containers are only
	// created, never started.
	create := func(user string, extra ...string) []string {
		args := append([]string{"create", "--label", label + "=" + user, "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64"}, extra...)
		return append(args, "busybox:e2e", "true")
	}
	t.Run("networks a container joins", func(t *testing.T) {
		bobnet := ok("bob", "network", "create", "--internal", "--label", label+"=bob", "bobnet")
		ok("alice", "network", "create", "--internal", "--label", label+"=alice", "anet")
		ok("alice", "create", "--name", "n1", "--network", "none", "--label", label+"=alice", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", "busybox:e2e", "true")
		refused("alice", []string{"ownership is other", "owned by bob"}, "network", "connect", "bobnet", "n1")
		// The same network through create: by name, id prefix and full id.
		for _, ref := range []string{"bobnet", bobnet[:12], bobnet} {
			refused("alice", []string{"ownership is other", "NetworkMode: network bobnet", "owned by bob"}, create("alice", "--network", ref)...)
		}
		// Her own network and the built-in ones are fine.
		ok("alice", create("alice", "--name", "n2", "--network", "anet")...)
		ok("alice", create("alice", "--name", "n3", "--network", "none")...)
		refused("alice", []string{"ownership is none", "no such network"}, create("alice", "--network", "ghostnet")...)
		ok("root-admin", create("root-admin", "--name", "n4", "--network", "bobnet")...) // ownership:any
		// Only the admin's container is on bob's network.
		if out := ok("root-admin", "ps", "-a", "--filter", "network=bobnet", "--format", "{{.Names}}"); out != "n4" {
			t.Errorf("containers on bobnet: %q, want only n4", out)
		}
		ok("root-admin", "rm", "n1", "n2", "n3", "n4")
		ok("alice", "network", "rm", "anet")
		ok("bob", "network", "rm", "bobnet")
	})

	t.Run("links and volumes-from", func(t *testing.T) {
		ok("bob", "create", "--name", "bobdb", "--label", label+"=bob", "--network", "none", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", "-e", "DB_PASSWORD=hunter2", "busybox:e2e", "sleep", "600")
		refused("alice", []string{"ownership is other", "HostConfig.Links[0]: container bobdb", "owned by bob"}, create("alice", "--link", "bobdb:db")...)
		refused("alice", []string{"ownership is other"}, create("alice", "--link", "bobdb")...)
		// Baseline denies volumes-from anyway; ownership is checked too,
		// for sites that allow it.
		refused("alice", []string{"volumes-from"}, create("alice", "--volumes-from", "bobdb:ro")...)
		var found bool
		for _, r := range e.audit() {
			if r.User == "alice" && r.Route == "container:create" && r.Decision == "deny" &&
				strings.Contains(r.Raw, "VolumesFrom[0]: container bobdb") {
				found = true
			}
		}
		if !found {
			t.Error("no audit record of alice's volumes-from create with the ownership facet of bobdb")
		}
		ok("root-admin", create("root-admin", "--name", "adminlink", "--link", "bobdb:db")...)
		ok("root-admin", "rm", "adminlink")
		ok("bob", "rm", "bobdb")
	})

	t.Run("a name that is another user's id prefix", func(t *testing.T) {
		bobID := ok("bob", "create", "--name", "bobsecret", "--label", label+"=bob", "--network", "none", "--memory", "64m", "--cpus", "0.5", "--pids-limit", "64", "-e", "DB_PASSWORD=hunter2", "busybox:e2e", "sleep", "600")
		p := bobID[:12]
		// dockerd matches names before id prefixes: alice's container
		// named p is hers until she renames it, and then p is bob's.
		mine := ok("alice", create("alice", "--name", p, "--network", "none")...)
		shadow := []string{"ownership is other", "is also a prefix of the id of container " + p, "use the full id " + mine}
		refused("alice", shadow, "inspect", p)
		refused("alice", shadow, "rm", p)
		refused("alice", shadow, create("alice", "--network", "none", "--link", p+":x")...)
		ok("alice", "inspect", "--format", "{{.Id}}", mine) // the full id is unambiguous
		ok("alice", "rename", mine, "renamed")
		refused("alice", []string{"ownership is other", "owned by bob"}, "inspect", p) // now bob's
		ok("alice", "rm", mine)
		ok("bob", "rm", "bobsecret")
	})

	t.Run("audit", func(t *testing.T) {
		lookups := 0
		for _, r := range e.audit() {
			if r.User == "docker-authz:lookup" {
				lookups++
				if r.Decision != "allow" || r.Method != "GET" {
					t.Errorf("lookup record %s", r.Raw)
				}
				if strings.Contains(r.Raw, "X-Docker-Authz-Lookup-Token\":\"") && !strings.Contains(r.Raw, "REDACTED") {
					t.Errorf("lookup token not redacted: %s", r.Raw)
				}
			}
		}
		if lookups == 0 {
			t.Error("no lookup records: the plugin's own lookups must be in the trail")
		}
		// Exit 3 is "verifies, but unsigned / unsealed tail" (no --audit-key here).
		out, err := e.pluginCmdOut("audit", "verify", e.auditLog)
		if ee, isExit := err.(*exec.ExitError); (err != nil && !(isExit && ee.ExitCode() == 3)) || !strings.HasPrefix(out, "OK") {
			t.Fatalf("audit verify: %v\n%s", err, out)
		}
	})
}

// apiCall sends one Docker API request as user, with the user's client
// certificate, for calls the docker CLI cannot make (exec by id).
func apiCall(t *testing.T, e *env, user, method, path, body string) (int, string) {
	t.Helper()
	dir := e.users[user]
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "https://"+strings.TrimPrefix(e.dockerHost, "tcp://")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}
