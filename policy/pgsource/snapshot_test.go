package pgsource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/policy"
)

func testPolicy(t *testing.T, model string) *policy.Policy {
	t.Helper()
	p, err := policy.FromRules("m", model, []policy.Rule{
		{Type: "p", Fields: []string{"group:developers", "image", "docker.io/library/*", "allow"}},
		{Type: "p", Fields: []string{"alice", "user", "", "allow"}},
		{Type: "g", Fields: []string{"group:developers", "profile:baseline"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, model := range []string{policy.DefaultModel, "# custom\n\n" + policy.DefaultModel + "\n"} {
		path := filepath.Join(t.TempDir(), "sub", "policy-snapshot.csv")
		p := testPolicy(t, model)
		saved := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
		if err := WriteSnapshot(path, Snapshot{Policy: p, Source: "postgres://authz@db:5432/authz", StoreRevision: 42, Saved: saved}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("snapshot mode %v, %v", fi.Mode(), err)
		}
		s, err := ReadSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Policy.Revision != p.Revision || s.StoreRevision != 42 || !s.Saved.Equal(saved) || s.Source != "postgres://authz@db:5432/authz" {
			t.Fatalf("read back %+v (revision %s, want %s)", s, s.Policy.Revision, p.Revision)
		}
		if d := policy.Diff(p, s.Policy); !d.Empty() {
			t.Fatalf("rules differ after the round trip: %+v", d)
		}
		// The snapshot is a policy.csv `check` can read: its rules parse.
		data, _ := os.ReadFile(path)
		if _, err := policy.New("(built-in model)", policy.DefaultModel, path, data); err != nil {
			t.Fatalf("snapshot is not a valid policy.csv: %v", err)
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".policy-snapshot-*"))
		if len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
}

func TestSnapshotRejectsDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.csv")
	p := testPolicy(t, policy.DefaultModel)
	if err := WriteSnapshot(path, Snapshot{Policy: p, Source: "postgres://db/a", StoreRevision: 1, Saved: time.Now()}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	for name, edit := range map[string]func(string) string{
		"rule added":   func(s string) string { return s + "p, mallory, *, *, allow\n" },
		"rule removed": func(s string) string { return strings.Replace(s, "g, group:developers, profile:baseline\n", "", 1) },
		"model edited": func(s string) string { return strings.Replace(s, "!some(where (p.eft == deny))", "true", 1) },
		"truncated":    func(s string) string { return s[:len(s)/2] },
		"not a snapshot": func(s string) string {
			return "p, alice, *, *, allow\n"
		},
		"invalid rule": func(s string) string { return s + "p, alice, nosuchfacet, *, allow\n" },
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(edit(string(good))), 0o600); err != nil {
				t.Fatal(err)
			}
			if s, err := ReadSnapshot(path); err == nil {
				t.Fatalf("damaged snapshot accepted: revision %s", s.Policy.Revision)
			}
		})
	}
	if _, err := ReadSnapshot(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing snapshot: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://authz:s3cr%26t@db:5432/authz?sslmode=verify-full": "postgres://authz:xxxxx@db:5432/authz?sslmode=verify-full",
		"postgresql://authz@db/authz":                                 "postgresql://authz@db/authz",
		"postgres://db/authz?password=hunter2&sslmode=disable":        "postgres://db/authz?password=xxxxx&sslmode=disable",
		"postgres://u:p@[::1":                                         "postgres://(unparsable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(Redact(in), "s3cr") || strings.Contains(Redact(in), "hunter2") {
			t.Errorf("password left in %q", Redact(in))
		}
	}
	if !IsURL("postgres://x/y") || !IsURL("postgresql://x/y") || IsURL("/etc/docker-authz") {
		t.Fatal("IsURL")
	}
}

func TestOpenScrubsPassword(t *testing.T) {
	// Nothing listens on port 1: the connection error must not carry the
	// password, however the driver words it.
	st, err := Open("postgres://authz:Sup3rSecret@127.0.0.1:1/authz?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Revision(t.Context())
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if strings.Contains(err.Error(), "Sup3rSecret") {
		t.Fatalf("password in error: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("error does not say which database: %v", err)
	}
}

func TestStartWithoutDatabase(t *testing.T) {
	// Nothing listens on port 1 of the loopback: the database is down.
	const down = "postgres://authz:pw@127.0.0.1:1/authz?sslmode=disable"
	dir := t.TempDir()
	newSource := func(snapshot string) *Source {
		s, err := New(Config{URL: down, Snapshot: snapshot, LoadTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// No snapshot: refuse, saying what to do.
	_, err := newSource(filepath.Join(dir, "none.csv")).Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no local snapshot") || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("start without database and snapshot: %v", err)
	}
	if strings.Contains(err.Error(), ":pw@") {
		t.Fatalf("password in %v", err)
	}

	// A snapshot of this database: serve it, and say so in the status.
	snap := filepath.Join(dir, "snap.csv")
	p := testPolicy(t, policy.DefaultModel)
	if err := WriteSnapshot(snap, Snapshot{Policy: p, Source: Redact(down), StoreRevision: 7, Saved: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s := newSource(snap)
	got, err := s.Start(t.Context())
	if err != nil || got.Revision != p.Revision {
		t.Fatalf("start from the snapshot: %v, %v", got, err)
	}
	st := s.Status()
	if !st.FromSnapshot || st.StoreRevision != 7 || st.Revision != p.Revision || st.LastError == "" || st.Backend != "postgres" || strings.Contains(st.Location, ":pw@") {
		t.Fatalf("status = %+v", st)
	}

	// A snapshot of another database is not used.
	other := filepath.Join(dir, "other.csv")
	if err := WriteSnapshot(other, Snapshot{Policy: p, Source: "postgres://authz@10.1.1.1:5432/other", StoreRevision: 7, Saved: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := newSource(other).Start(t.Context()); err == nil || !strings.Contains(err.Error(), "of another database") {
		t.Fatalf("snapshot of another database: %v", err)
	}
}
