//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
	"github.com/docker-authz/docker-authz/policy/pgsource"
	"github.com/docker-authz/docker-authz/test/bench"
)

// pgServer is a throw-away PostgreSQL cluster of Debian's postgresql
// package, on a loopback port, run as the postgres user (the server refuses
// to run as root).
type pgServer struct {
	t       *testing.T
	bindir  string
	dir     string
	port    int
	running bool
}

const fleetPassword = "fl33t&p@ss" // characters that need escaping in a URL

func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the fleet test starts PostgreSQL as the postgres user and must run as root")
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL not found: install Debian's postgresql package (.ci/run does this)")
	}
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("no postgres user: install Debian's postgresql package: %v", err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "dafleet-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &pgServer{t: t, bindir: filepath.Dir(bins[len(bins)-1]), dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		if s.running {
			s.stop()
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			t.Logf("---- postgres.log ----\n%s", b)
		}
		os.RemoveAll(dir)
	})
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(fleetPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, pw} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.pg("initdb", "-D", filepath.Join(dir, "data"), "-U", "authz", "--pwfile", pw, "-A", "scram-sha-256", "--no-sync")
	s.start()
	return s
}

func (s *pgServer) pg(tool string, args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", filepath.Join(s.bindir, tool)}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

func (s *pgServer) start() {
	s.t.Helper()
	s.pg("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-l", filepath.Join(s.dir, "postgres.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", s.port, s.dir), "start")
	s.running = true
}

func (s *pgServer) stop() {
	s.t.Helper()
	s.pg("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "-t", "60", "stop")
	s.running = false
}

// url is the database URL; withPassword=false leaves the password to
// PGPASSWORD.
func (s *pgServer) url(withPassword bool) string {
	userinfo := "authz"
	if withPassword {
		userinfo += ":" + strings.ReplaceAll(strings.ReplaceAll(fleetPassword, "&", "%26"), "@", "%40")
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", userinfo, s.port)
}

// fleetPlugin is one `docker-authz serve` with the database policy.
type fleetPlugin struct {
	t        *testing.T
	name     string
	cmd      *exec.Cmd
	socket   string
	log      string
	snapshot string
	metrics  string // --metrics-addr
	client   *http.Client
	exited   chan error
}

func startFleetPlugin(t *testing.T, bin, dir, name, dbURL, caPath, snapshot string, env ...string) *fleetPlugin {
	t.Helper()
	p := &fleetPlugin{t: t, name: name, socket: filepath.Join(dir, name+".sock"), log: filepath.Join(dir, name+".log"), snapshot: snapshot,
		metrics: fmt.Sprintf("127.0.0.1:%d", freePort(t)), exited: make(chan error, 1)}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--socket", p.socket, "--policy", dbURL, "--policy-snapshot", snapshot,
		"--client-ca", caPath, "--audit-log", filepath.Join(dir, name+"-audit.jsonl"), "--log-level", "debug", "--log-format", "json",
		"--metrics-addr", p.metrics)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		terminate(p.cmd, 10*time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("---- %s ----\n%s", p.log, b)
		}
	})
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.socket)
		},
	}}
	return p
}

func (p *fleetPlugin) waitServing() {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.exited:
			b, _ := os.ReadFile(p.log)
			p.t.Fatalf("%s exited: %v\n%s", p.name, err, b)
		default:
		}
		if c, err := net.Dial("unix", p.socket); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s did not come up", p.name)
}

type fleetAnswer struct {
	Allow bool
	Msg   string
	Err   string
}

// decide sends the AuthZReq dockerd would send for `docker ps` by who.
func (p *fleetPlugin) decide(who bench.Caller) fleetAnswer {
	p.t.Helper()
	call, _ := bench.Find("container-list")
	resp, err := p.client.Post("http://plugin/AuthZPlugin.AuthZReq", "application/json", bytes.NewReader(call.AuthZReq(who)))
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	defer resp.Body.Close()
	var a fleetAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return a
}

func (p *fleetPlugin) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// untilBoth waits until every plugin answers who with allow, and returns
// how long that took.
func untilBoth(t *testing.T, limit time.Duration, what string, who bench.Caller, allow bool, plugins ...*fleetPlugin) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok := true
		for _, p := range plugins {
			if p.decide(who).Allow != allow {
				ok = false
			}
		}
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not seen by every plugin within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func runCLI(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return string(out), code
}

// retryDB runs an admin change, retrying while the test's own connection
// pool still holds connections from before a database restart.
func retryDB(t *testing.T, f func() error) {
	t.Helper()
	var err error
	for i := 0; i < 20; i++ {
		if err = f(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatal(err)
}

// fleetDB is the database block of `docker-authz status --json`.
type fleetDB struct {
	Location             string    `json:"location"`
	Connected            bool      `json:"connected"`
	ServingSnapshot      bool      `json:"serving_snapshot"`
	PolicyRevision       string    `json:"policy_revision"`
	StoreRevision        int64     `json:"store_revision"`
	StoreRevisionInForce int64     `json:"store_revision_in_force"`
	LastLoad             time.Time `json:"last_load"`
	LastError            string    `json:"last_error"`
}

// dbStatus runs `docker-authz status` (text and --json) against p and
// returns the database block, the text and the exit status (the same for
// both forms, or the test fails). Neither form may show the password.
func (p *fleetPlugin) dbStatus(bin string) (fleetDB, string, int) {
	p.t.Helper()
	text, code := runCLI(p.t, bin, nil, "status", "--socket", p.socket)
	raw, jcode := runCLI(p.t, bin, nil, "status", "--socket", p.socket, "--json")
	var rep struct {
		Ready  bool `json:"ready"`
		Policy struct {
			Database *fleetDB `json:"database"`
		} `json:"policy"`
	}
	if err := json.Unmarshal([]byte(raw), &rep); err != nil || rep.Policy.Database == nil {
		p.t.Fatalf("%s: status --json (exit %d): no database block (%v)\n%s", p.name, jcode, err, raw)
	}
	if !rep.Ready {
		p.t.Fatalf("%s: not ready (a database policy instance stays ready while it decides with the last good policy):\n%s", p.name, text)
	}
	for _, s := range []string{text, raw} {
		if strings.Contains(s, fleetPassword) || strings.Contains(s, "fl33t%26") {
			p.t.Fatalf("%s: status shows the database password:\n%s", p.name, s)
		}
	}
	if code != jcode {
		p.t.Fatalf("%s: status exit %d, status --json exit %d", p.name, code, jcode)
	}
	return *rep.Policy.Database, text, code
}

// metric returns the value of one series from p's /metrics (-1: absent).
func (p *fleetPlugin) metric(series string) float64 {
	p.t.Helper()
	res, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		p.t.Fatalf("%s: /metrics: %v", p.name, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				p.t.Fatalf("%s: %s", p.name, line)
			}
			return f
		}
	}
	return -1
}

// ready GETs /ready on p's metrics listener.
func (p *fleetPlugin) ready() int {
	p.t.Helper()
	res, err := http.Get("http://" + p.metrics + "/ready")
	if err != nil {
		p.t.Fatalf("%s: /ready: %v", p.name, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestFleetPostgres: two real plugin instances share one policy in a real
// PostgreSQL; a rule added through the Casbin adapter reaches both within a
// second; with the database stopped both keep deciding with the last good
// policy; with it back, updates resume; a restart during the outage serves
// the snapshot, and an instance without a snapshot refuses to start.
func TestFleetPostgres(t *testing.T) {
	pg := startPostgres(t)
	dir, err := os.MkdirTemp("", "dafleet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := buildPlugin(t, dir)
	ca := identitytest.NewCA(t)
	if err := os.MkdirAll(filepath.Join(dir, "ca"), 0o755); err != nil {
		t.Fatal(err)
	}
	caPath := ca.WriteCA(filepath.Join(dir, "ca"))
	aliceCert, _ := ca.Issue("alice", []string{"developers"})
	bobCert, _ := ca.Issue("bob", []string{"developers"})
	alice := bench.Caller{User: "alice", CertPEM: aliceCert}
	bob := bench.Caller{User: "bob", CertPEM: bobCert}

	// The site policy as a directory, imported with the CLI.
	base := filepath.Join(dir, "base")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "policy.csv"), []byte("# fleet policy\ng, group:developers, profile:baseline\np, group:developers, image, docker.io/library/*, allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dbURL := pg.url(true)
	envPW := []string{"PGPASSWORD=" + fleetPassword}
	if out, code := runCLI(t, bin, nil, "policy", "import", "--from", base, "--to", dbURL); code != 0 {
		t.Fatalf("policy import: %d\n%s", code, out)
	} else if strings.Contains(out, fleetPassword) {
		t.Fatalf("policy import printed the password: %s", out)
	}
	if out, code := runCLI(t, bin, envPW, "policy", "diff", base, pg.url(false)); code != 0 {
		t.Fatalf("policy diff after import: %d\n%s", code, out)
	}

	// Host A has the password in the URL, host B in PGPASSWORD.
	a := startFleetPlugin(t, bin, dir, "host-a", dbURL, caPath, filepath.Join(dir, "a", "snapshot.csv"))
	b := startFleetPlugin(t, bin, dir, "host-b", pg.url(false), caPath, filepath.Join(dir, "b", "snapshot.csv"), envPW...)
	a.waitServing()
	b.waitServing()
	for _, p := range []*fleetPlugin{a, b} {
		if ans := p.decide(alice); !ans.Allow {
			t.Fatalf("%s: alice denied under the imported policy: %s", p.name, ans.Msg)
		}
	}
	// status: the database block of a healthy instance.
	dbHost := fmt.Sprintf("@127.0.0.1:%d/postgres", pg.port)
	for _, p := range []*fleetPlugin{a, b} {
		db, text, code := p.dbStatus(bin)
		if code != 0 || !db.Connected || db.ServingSnapshot || db.StoreRevision == 0 || db.StoreRevision != db.StoreRevisionInForce ||
			db.LastError != "" || db.LastLoad.IsZero() || !strings.Contains(db.Location, dbHost) || !strings.Contains(text, "database:   connected to postgres://authz") {
			t.Fatalf("%s: status of a healthy database policy: exit %d %+v\n%s", p.name, code, db, text)
		}
		if c, s := p.metric("docker_authz_policy_database_connected"), p.metric("docker_authz_policy_database_serving_snapshot"); c != 1 || s != 0 {
			t.Fatalf("%s: metrics connected=%v serving_snapshot=%v", p.name, c, s)
		}
	}

	st, err := pgsource.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	adapter, err := st.Adapter()
	if err != nil {
		t.Fatal(err)
	}

	// 1. A rule added through the Casbin adapter reaches both within a second.
	revoke := []string{"alice", "*", "*", "deny"}
	if err := adapter.AddPolicy("p", "p", revoke); err != nil {
		t.Fatal(err)
	}
	took := untilBoth(t, time.Second, "deny alice", alice, false, a, b)
	t.Logf("rule added through the adapter in force on both plugins after %v", took)
	for _, p := range []*fleetPlugin{a, b} {
		if ans := p.decide(alice); !strings.Contains(ans.Msg, "p, alice, *, *, deny") {
			t.Fatalf("%s: deny message does not name the rule: %q", p.name, ans.Msg)
		}
		if !p.decide(bob).Allow {
			t.Fatalf("%s: bob denied too", p.name)
		}
	}
	out, code := runCLI(t, bin, envPW, "policy", "diff", base, pg.url(false))
	if code != 1 || !strings.Contains(out, "+ p, alice, *, *, deny") {
		t.Fatalf("policy diff: exit %d\n%s", code, out)
	}
	// check validates the database policy; an export is a directory with
	// the same rules and the same revision.
	out, code = runCLI(t, bin, envPW, "check", pg.url(false))
	if code != 0 || !strings.Contains(out, "policy: valid, 3 rules") {
		t.Fatalf("check on the database: exit %d\n%s", code, out)
	}
	dbRev := strings.Fields(out[strings.Index(out, "revision "):])[1]
	exported := filepath.Join(dir, "exported")
	if out, code := runCLI(t, bin, envPW, "policy", "export", "--from", pg.url(false), "--to", exported); code != 0 {
		t.Fatalf("policy export: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, bin, nil, "check", exported)
	if code != 0 || !strings.Contains(out, "revision "+dbRev) {
		t.Fatalf("check of the export (want revision %s): exit %d\n%s", dbRev, code, out)
	}
	if out, code := runCLI(t, bin, envPW, "policy", "diff", exported, pg.url(false)); code != 0 {
		t.Fatalf("policy diff export vs database: exit %d\n%s", code, out)
	}

	// 2. An invalid rule is not applied: the last good policy stays.
	bad := []string{"bob", "no-such-facet", "*", "deny"}
	if err := adapter.AddPolicy("p", "p", bad); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "reload failure logged on both", func() bool {
		return strings.Contains(a.logText(), "policy reload from the database failed") && strings.Contains(b.logText(), "policy reload from the database failed")
	})
	for _, p := range []*fleetPlugin{a, b} {
		if p.decide(alice).Allow || !p.decide(bob).Allow {
			t.Fatalf("%s: an invalid database policy changed decisions", p.name)
		}
	}
	// status: the database is ahead of the revision in force, and says why.
	db, text, code := a.dbStatus(bin)
	if code != 1 || !db.Connected || db.StoreRevision <= db.StoreRevisionInForce || !strings.Contains(db.LastError, "no-such-facet") || !strings.Contains(text, "NOT IN FORCE") {
		t.Fatalf("status with an invalid policy in the database: exit %d %+v\n%s", code, db, text)
	}
	if l, f := a.metric(`docker_authz_policy_database_store_revision{state="latest"}`), a.metric(`docker_authz_policy_database_store_revision{state="in_force"}`); l <= f || f <= 0 {
		t.Fatalf("metrics store revision latest=%v in_force=%v", l, f)
	}
	if err := adapter.RemovePolicy("p", "p", bad); err != nil {
		t.Fatal(err)
	}

	// 3. Database stopped: both keep deciding with the last good policy.
	pg.stop()
	waitFor(t, 15*time.Second, "outage noticed by both", func() bool {
		return strings.Contains(a.logText(), "policy database unreachable") && strings.Contains(b.logText(), "policy database unreachable")
	})
	// The outage is visible in `docker-authz status` (exit 1, the error).
	out, code = runCLI(t, bin, nil, "status", "--socket", a.socket)
	if code != 1 || !strings.Contains(out, "127.0.0.1") || strings.Contains(out, fleetPassword) {
		t.Fatalf("status during the outage: exit %d\n%s", code, out)
	}
	outageInForce := map[string]int64{}
	for _, p := range []*fleetPlugin{a, b} {
		db, text, code := p.dbStatus(bin)
		if code != 1 || db.Connected || db.ServingSnapshot || db.LastError == "" || !strings.Contains(db.LastError, "127.0.0.1") ||
			!strings.Contains(text, "database:   DISCONNECTED from postgres://authz") || !strings.Contains(text, "decisions use policy revision "+db.PolicyRevision+" until the database is back") {
			t.Fatalf("%s: status during the outage: exit %d %+v\n%s", p.name, code, db, text)
		}
		outageInForce[p.name] = db.StoreRevisionInForce
		if c := p.metric("docker_authz_policy_database_connected"); c != 0 {
			t.Fatalf("%s: docker_authz_policy_database_connected %v during the outage", p.name, c)
		}
		if r := p.ready(); r != http.StatusOK {
			t.Fatalf("%s: /ready %d during the outage (it still decides with the last good policy)", p.name, r)
		}
	}
	for _, p := range []*fleetPlugin{a, b} {
		if p.decide(alice).Allow {
			t.Fatalf("%s: alice allowed during the outage", p.name)
		}
		if ans := p.decide(bob); !ans.Allow {
			t.Fatalf("%s: bob denied during the outage: %s", p.name, ans.Msg)
		}
	}

	// 4. Database back: updates resume (reconnect with backoff, then notify).
	pg.start()
	retryDB(t, func() error { return adapter.RemovePolicy("p", "p", revoke) })
	took = untilBoth(t, 15*time.Second, "alice allowed again after the outage", alice, true, a, b)
	t.Logf("first change after the outage in force on both plugins after %v", took)
	waitFor(t, 10*time.Second, "status healthy again", func() bool {
		_, code := runCLI(t, bin, nil, "status", "--socket", b.socket)
		return code == 0
	})
	for _, p := range []*fleetPlugin{a, b} {
		var db fleetDB
		var text string
		waitFor(t, 10*time.Second, p.name+": database block healthy again", func() bool {
			var code int
			db, text, code = p.dbStatus(bin)
			return code == 0
		})
		if !db.Connected || db.ServingSnapshot || db.LastError != "" || db.StoreRevision != db.StoreRevisionInForce || db.StoreRevisionInForce <= outageInForce[p.name] ||
			strings.Contains(text, "DISCONNECTED") {
			t.Fatalf("%s: status after the outage (in force during it: %d): %+v\n%s", p.name, outageInForce[p.name], db, text)
		}
		if c := p.metric("docker_authz_policy_database_connected"); c != 1 {
			t.Fatalf("%s: docker_authz_policy_database_connected %v after the outage", p.name, c)
		}
	}

	// 5. Restart during an outage: host A starts from its snapshot.
	terminate(a.cmd, 10*time.Second)
	pg.stop()
	a2 := startFleetPlugin(t, bin, dir, "host-a2", dbURL, caPath, a.snapshot)
	a2.waitServing()
	if ans := a2.decide(alice); !ans.Allow {
		t.Fatalf("host-a2 from the snapshot: alice denied: %s", ans.Msg)
	}
	if !strings.Contains(a2.logText(), "serving the local snapshot") {
		t.Fatalf("host-a2 did not say it serves the snapshot:\n%s", a2.logText())
	}
	db, text, code = a2.dbStatus(bin)
	if code != 1 || db.Connected || !db.ServingSnapshot || db.StoreRevisionInForce == 0 || !strings.Contains(text, "policy from the LOCAL SNAPSHOT "+a.snapshot) {
		t.Fatalf("host-a2 status while serving the snapshot: exit %d %+v\n%s", code, db, text)
	}
	if s := a2.metric("docker_authz_policy_database_serving_snapshot"); s != 1 || a2.ready() != http.StatusOK {
		t.Fatalf("host-a2: serving_snapshot %v, /ready %d", s, a2.ready())
	}

	// 6. No snapshot and no database: refuse to start, saying why.
	c := startFleetPlugin(t, bin, dir, "host-c", dbURL, caPath, filepath.Join(dir, "c", "snapshot.csv"))
	select {
	case err := <-c.exited:
		if err == nil {
			t.Fatal("host-c exited 0 without a policy")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("host-c started without database and snapshot")
	}
	if !strings.Contains(c.logText(), "no local snapshot") || !strings.Contains(c.logText(), "refusing to start") {
		t.Fatalf("host-c's refusal does not say why:\n%s", c.logText())
	}

	// 7. The database comes back: host-a2 leaves the snapshot for the
	// database and follows changes again.
	pg.start()
	retryDB(t, func() error { return adapter.AddPolicy("p", "p", revoke) })
	untilBoth(t, 15*time.Second, "host-a2 follows the database again", alice, false, a2, b)
	waitFor(t, 10*time.Second, "host-a2 status healthy", func() bool {
		db, _, code := a2.dbStatus(bin)
		return code == 0 && db.Connected && !db.ServingSnapshot
	})
	if s, c := a2.metric("docker_authz_policy_database_serving_snapshot"), a2.metric("docker_authz_policy_database_connected"); s != 0 || c != 1 {
		t.Fatalf("host-a2 back on the database: serving_snapshot %v, connected %v", s, c)
	}

	for _, p := range []*fleetPlugin{a, b, a2, c} {
		if strings.Contains(p.logText(), fleetPassword) || strings.Contains(p.logText(), "fl33t%26") {
			t.Fatalf("%s logged the database password", p.name)
		}
		if strings.Contains(p.logText(), "DATA RACE") { // GOFLAGS=-race builds a race-detecting plugin
			t.Fatalf("%s: data race", p.name)
		}
	}
}
