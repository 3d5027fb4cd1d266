package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/request"
)

// sampleTrail writes a small trail: alice allowed (with response), bob
// denied on a privileged create.
func sampleTrail(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(path, audit.Options{Host: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := &audit.Record{Time: t0, Stage: audit.StageRequest, User: "alice", Groups: []string{"group:developers"}, Method: "GET", URI: "/v1.41/containers/json", Route: "container:list", Decision: audit.Allow}
	for _, r := range []*audit.Record{
		a,
		{Time: t0.Add(time.Second), Stage: audit.StageResponse, RequestID: "", User: "alice", Method: "GET", URI: "/v1.41/containers/json", Route: "container:list", Status: 200, Decision: audit.Allow},
		{Time: t0.Add(time.Hour), Stage: audit.StageRequest, User: "bob", Groups: []string{"group:developers"}, Method: "POST", URI: "/v1.41/containers/create", Route: "container:create",
			Facets: []request.Facet{{Kind: "privileged", Value: "container"}}, Decision: audit.Deny, Reason: "bob (group:developers) may not run privileged containers [no rule allows privileged=container; denied by default]"},
	} {
		if r.Stage == audit.StageResponse {
			r.RequestID = a.ID
		}
		if err := l.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestAuditQueryCommand(t *testing.T) {
	trail := sampleTrail(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   string
		notInOut string
	}{
		{"table", []string{"audit", "query", trail}, 0, []string{"TIME (UTC)", "alice", "200", "bob", "deny", "may not run privileged"}, "", ""},
		{"deny only", []string{"audit", "query", "--decision", "deny", trail}, 0, []string{"bob"}, "", "alice"},
		{"user list", []string{"audit", "query", "--user", "alice,carol", trail}, 0, []string{"alice"}, "", "bob"},
		{"facet", []string{"audit", "query", "--facet", "privileged=cont*", "--json", trail}, 0, []string{`"user":"bob"`, `"outcome":"denied"`, `"denied":[{"kind":"privileged","value":"container"}]`}, "", "alice"},
		{"since", []string{"audit", "query", "--since", "2026-11-23 09:30", "--csv", trail}, 0, []string{"time,seq,id", "bob"}, "", "alice"},
		{"directory", []string{"audit", "query", "--route", "container:*", filepath.Dir(trail)}, 0, []string{"alice", "bob"}, "", ""},
		{"nothing matches", []string{"audit", "query", "--user", "eve", trail}, 0, nil, "no matching request in 3 record(s)", "alice"},
		{"bad decision", []string{"audit", "query", "--decision", "maybe", trail}, 2, nil, "--decision must be allow or deny", ""},
		{"bad time", []string{"audit", "query", "--since", "last tuesday", trail}, 2, nil, "--since: time", ""},
		{"bad facet", []string{"audit", "query", "--facet", "=x", trail}, 2, nil, "want KIND or KIND=VALUE", ""},
		{"denied (from the reason of an older record)", []string{"audit", "query", "--denied", "privileged", trail}, 0, []string{"bob"}, "", "alice"},
		{"denied no match", []string{"audit", "query", "--denied", "bind", trail}, 0, nil, "no matching request", "bob"},
		{"bad denied", []string{"audit", "query", "--denied", "=x", trail}, 2, nil, "want KIND or KIND=VALUE", ""},
		{"stats denied", []string{"audit", "stats", "--json", "--denied", "privileged=container", trail}, 0, []string{`"deny": 1`}, "", `"allow": 1`},
		{"json and csv", []string{"audit", "query", "--json", "--csv", trail}, 2, nil, "exclude each other", ""},
		{"no file", []string{"audit", "query"}, 2, nil, "Usage: docker-authz audit query", ""},
		{"missing file", []string{"audit", "query", "/nonexistent/audit.jsonl"}, 2, nil, "no such file", ""},
		{"stats", []string{"audit", "stats", trail}, 0, []string{"3 records: 2 requests, 1 responses", "Decisions: 1 allowed, 1 denied", "privileged"}, "", ""},
		{"stats json", []string{"audit", "stats", "--json", "--user", "bob", trail}, 0, []string{`"deny": 1`, `"privileged": 1`}, "", ""},
		{"report needs -o", []string{"audit", "report", trail}, 2, nil, "-o FILE is required", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCmd(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if tc.stderr != "" && !strings.Contains(errs, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errs)
			}
			if tc.notInOut != "" && strings.Contains(out, tc.notInOut) {
				t.Errorf("stdout has %q:\n%s", tc.notInOut, out)
			}
		})
	}
}

func TestAuditReportCommand(t *testing.T) {
	trail := sampleTrail(t)
	out := filepath.Join(t.TempDir(), "r.html")
	stdout, stderr, code := runCmd("audit", "report", "--title", "Weekly", "-o", out, trail)
	if code != 0 || !strings.Contains(stdout, "wrote "+out) {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "<title>Weekly</title>") || !strings.Contains(string(b), `<svg id="chart-time"`) {
		t.Fatal("report content")
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o640 {
		t.Fatalf("report mode %v", fi.Mode().Perm())
	}
	// A failed run leaves no file behind.
	bad := filepath.Join(t.TempDir(), "bad.html")
	if _, _, code := runCmd("audit", "report", "--key", "/nonexistent.pub", "-o", bad, trail); code != 2 {
		t.Fatalf("bad key: exit %d", code)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Fatal("a report was written although the command failed")
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".report-") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func TestAuditSinkFlags(t *testing.T) {
	log := logrus.New()
	log.SetOutput(&bytes.Buffer{})
	tests := []struct {
		args []string
		err  string
		fw   int
		host string
	}{
		{nil, "", 0, ""},
		{[]string{"--audit-host", "build-7"}, "", 0, "build-7"},
		{[]string{"--audit-syslog", "udp://127.0.0.1:9"}, "", 1, ""},
		{[]string{"--audit-syslog-ca", "/x.pem"}, "need --audit-syslog", 0, ""},
		{[]string{"--audit-syslog", "ftp://x"}, "--audit-syslog: syslog: collector URL", 0, ""},
		{[]string{"--audit-syslog", "tcp+tls://x", "--audit-syslog-ca", "/nonexistent.pem"}, "reading the collector CA", 0, ""},
	}
	for _, tc := range tests {
		var a auditSinkFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		a.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		host, fw, closeSinks, err := a.open(log)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if len(fw) != tc.fw || (tc.host != "" && host != tc.host) || host == "" {
			t.Errorf("%v: host %q, %d forwarders", tc.args, host, len(fw))
		}
		closeSinks()
	}
}
