package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/pgsource"
)

// fakeAdmin serves rep as GET /status on a unix socket, as a running
// instance's admin socket does.
func fakeAdmin(t *testing.T, rep statusReport) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "fake.admin.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(rep)
	}), ReadHeaderTimeout: time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// TestStatusDatabaseBlock: the database block of `status` (text and
// --json) and the exit status, for database states given as a fake source
// status.
func TestStatusDatabaseBlock(t *testing.T) {
	now := time.Now()
	base := policy.SourceStatus{
		Backend: "postgres", Location: "postgres://authz:xxxxx@db.example:5432/authz?sslmode=verify-full",
		Revision: "2484bfc285cb", StoreRevision: 41, LatestStoreRevision: 41,
		LastLoad: now.Add(-time.Minute), LastAttempt: now.Add(-time.Second), Connected: true,
		Snapshot: "/var/lib/docker-authz/policy-snapshot.csv",
	}
	tests := []struct {
		name    string
		edit    func(*policy.SourceStatus)
		code    int
		nprob   int // problems in the database block
		want    []string
		notWant []string
	}{
		{"following", func(*policy.SourceStatus) {}, statusOK, 0,
			[]string{"database:   connected to postgres://authz:xxxxx@db.example:5432/authz", "policy from the database; store revision 41 (last read), in force 41", "last successful load "},
			[]string{"last error", "DISCONNECTED", "until the database is back", "NOT IN FORCE"}},
		{"outage", func(s *policy.SourceStatus) {
			s.Connected, s.LastError = false, "connect to postgres://authz:xxxxx@db.example:5432/authz: connection refused"
		}, statusUnhealthy, 1,
			[]string{"database:   DISCONNECTED from postgres://authz:xxxxx@db.example", "last error ", ": connect to postgres://authz:xxxxx@db.example:5432/authz: connection refused", "decisions use policy revision 2484bfc285cb until the database is back"},
			nil},
		{"snapshot at start", func(s *policy.SourceStatus) {
			s.Connected, s.FromSnapshot, s.LatestStoreRevision = false, true, 0
			s.LastError = "connect to postgres://authz:xxxxx@db.example:5432/authz: connection refused"
		}, statusUnhealthy, 2,
			[]string{"policy from the LOCAL SNAPSHOT /var/lib/docker-authz/policy-snapshot.csv", "store revision not read since start, in force 41"},
			nil},
		{"back, snapshot still in force", func(s *policy.SourceStatus) {
			s.FromSnapshot = true // connected again, the reload not done yet
		}, statusUnhealthy, 1,
			[]string{"database:   connected to", "policy from the LOCAL SNAPSHOT"},
			[]string{"DISCONNECTED"}},
		{"invalid policy in the database", func(s *policy.SourceStatus) {
			s.LatestStoreRevision, s.LastError = 42, `postgres://authz:xxxxx@db.example:5432/authz rule 3: unknown facet "no-such-facet"`
		}, statusUnhealthy, 0, // exit 1 for the rejected reload
			[]string{"store revision 42 (last read, NOT IN FORCE: see the last error), in force 41", `unknown facet "no-such-facet"`},
			[]string{"DISCONNECTED"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := base
			tc.edit(&st)
			rep := statusReport{Version: "test", PID: 1, Ready: true, Started: now.Add(-time.Hour), Plugin: "docker-authz", Socket: "/run/docker/plugins/docker-authz.sock"}
			rep.Policy = policyReport{Revision: st.Revision, Source: st.Location, Database: databaseReportOf(st)}
			// What ops.policyStatus makes of it (serve_ops.go).
			rep.Policy.Reload.LastOK, rep.Policy.Reload.LastError, rep.Policy.Reload.LastAttempt = st.LastError == "", st.LastError, st.LastAttempt
			sock := fakeAdmin(t, rep)

			rc, out, errs := status("--admin-socket", sock)
			if rc != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", rc, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("status lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("status has %q:\n%s", w, out)
				}
			}
			rc, out, _ = status("--admin-socket", sock, "--json")
			var raw struct {
				Policy struct {
					Database map[string]any `json:"database"`
				} `json:"policy"`
			}
			if err := json.Unmarshal([]byte(out), &raw); err != nil || rc != tc.code {
				t.Fatalf("--json: exit %d, %v\n%s", rc, err, out)
			}
			db := raw.Policy.Database
			if db["connected"] != st.Connected || db["serving_snapshot"] != st.FromSnapshot ||
				db["store_revision"] != float64(st.LatestStoreRevision) || db["store_revision_in_force"] != float64(st.StoreRevision) ||
				db["policy_revision"] != st.Revision || db["location"] != st.Location {
				t.Errorf("--json database block: %v", db)
			}
			probs, _ := db["problems"].([]any)
			if (db["last_error"] != nil) != (st.LastError != "") || len(probs) != tc.nprob {
				t.Errorf("--json last_error/problems (want %d): %v", tc.nprob, db)
			}
		})
	}
}

// TestStatusDirectoryPolicyHasNoDatabaseBlock: a policy directory shows no
// database lines and no "database" member.
func TestStatusDirectoryPolicyHasNoDatabaseBlock(t *testing.T) {
	rep := statusReport{Ready: true, Policy: policyReport{Revision: "r", Source: "/etc/docker-authz"}}
	rep.Policy.Reload.LastOK = true
	var b bytes.Buffer
	printStatus(&b, rep)
	if strings.Contains(b.String(), "database") {
		t.Fatalf("database lines for a directory policy:\n%s", b.String())
	}
	j, _ := json.Marshal(rep)
	if strings.Contains(string(j), `"database"`) {
		t.Fatalf("database member for a directory policy: %s", j)
	}
}

// TestOpsDatabaseSnapshotStatus: serve's real database path with the
// database down at start: the instance serves its snapshot, stays ready
// (/ready 200), and status (exit 1) and the metrics say that it is
// disconnected and serving the snapshot, without the password.
func TestOpsDatabaseSnapshotStatus(t *testing.T) {
	dir := t.TempDir()
	port := closedPort(t)
	const password = "s3cr3t-pw"
	dbURL := "postgres://authz:" + password + "@127.0.0.1:" + port + "/authz?sslmode=disable&connect_timeout=2"
	pol, err := policy.New("model", policy.DefaultModel, "policy.csv", []byte("p, alice, *, *, allow\n"))
	if err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(dir, "snapshot.csv")
	saved := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := pgsource.WriteSnapshot(snapshot, pgsource.Snapshot{Policy: pol, Source: pgsource.Redact(dbURL), StoreRevision: 7, Saved: saved}); err != nil {
		t.Fatal(err)
	}
	flags := policySourceFlags{snapshot: snapshot, poll: time.Second}
	first, pdb, err := flags.open(dbURL, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.stop()
	if first.Revision != pol.Revision {
		t.Fatalf("started with revision %s, want the snapshot's %s", first.Revision, pol.Revision)
	}
	sock := filepath.Join(dir, "p.sock")
	x, err := newOps(serveOptions{socket: sock, policyDir: dbURL, ops: opsOptions{adminSocket: "auto", metricsAddr: "127.0.0.1:0"}}, first, pdb, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer x.close()
	ver, _ := identity.NewVerifier(identity.Config{LocalUser: "alice"})
	trail, err := audit.Open(filepath.Join(dir, "audit.jsonl"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer trail.Close()
	if err := x.start(authz.NewServer(authz.Config{Name: "p", Identity: ver, Policy: x.holder, Audit: trail, Observer: x.observer()}), trail, "p", sock); err != nil {
		t.Fatal(err)
	}

	rc, out, errs := status("--socket", sock)
	if rc != statusUnhealthy {
		t.Errorf("status exit %d, want %d (ready, but not following the database)\n%s%s", rc, statusUnhealthy, out, errs)
	}
	for _, w := range []string{": ready", "database:   DISCONNECTED from postgres://authz:xxxxx@127.0.0.1:" + port + "/authz",
		"policy from the LOCAL SNAPSHOT " + snapshot, "in force 7", "last error ", "decisions use policy revision " + pol.Revision} {
		if !strings.Contains(out, w) {
			t.Errorf("status lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, password) {
		t.Fatalf("status shows the password:\n%s", out)
	}
	_, out, _ = status("--socket", sock, "--json")
	if strings.Contains(out, password) {
		t.Fatalf("status --json shows the password:\n%s", out)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	db := rep.Policy.Database
	if db == nil || db.Connected || !db.ServingSnapshot || db.StoreRevisionInForce != 7 || !db.LastLoad.Equal(saved) || db.LastError == "" || len(db.Problems) != 2 {
		t.Fatalf("database block: %+v", db)
	}
	if code, body := adminGet(t, filepath.Join(dir, "p.admin.sock"), "/ready"); code != http.StatusOK {
		t.Fatalf("/ready with the database down: %d %q (the last good policy is in force: still ready)", code, body)
	}

	// Metrics, read at scrape time.
	mh := httptest.NewServer(x.metrics.Handler())
	defer mh.Close()
	res, err := http.Get(mh.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, w := range []string{
		"docker_authz_policy_database_connected 0",
		"docker_authz_policy_database_serving_snapshot 1",
		`docker_authz_policy_database_store_revision{state="in_force"} 7`,
		`docker_authz_policy_database_store_revision{state="latest"} 0`,
	} {
		if !strings.Contains(string(body), w+"\n") {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// closedPort is a loopback TCP port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}
