package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the testdata/*/*.golden files of check and explain")

// golden compares got with testdata/NAME.golden (or rewrites it with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/docker-authz -run %s -update)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestCheckGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"good", nil, 0},
		{"lint", nil, 1},
		{"failing", nil, 1},
		{"invalid", nil, 1},
		{"badcases", nil, 1},
		{"good", []string{"--strict"}, 0},
	} {
		name := c.name
		if len(c.args) > 0 {
			name += strings.Join(c.args, "")
		}
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(append([]string{}, c.args...), filepath.Join("testdata", "check", c.name))
			code := runCheck(args, &out, &errb)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out.String(), errb.String())
			}
			golden(t, "check/"+name, out.String())
		})
	}
}

// A policy with only warnings passes, and fails with --strict.
func TestCheckStrict(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.csv"), []byte("p, role:nobody, route, system:ping, allow\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := runCheck([]string{dir}, &out, &out); code != 0 {
		t.Errorf("without --strict: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := runCheck([]string{"--strict", dir}, &out, &out); code != 1 || !strings.Contains(out.String(), "1 lint warning (--strict)") {
		t.Errorf("with --strict: exit %d\n%s", code, out.String())
	}
}

func TestCheckExamples(t *testing.T) {
	// make check-examples checks every example; these are the ones with
	// policy test cases written for check (they must stay warning-free).
	for _, name := range []string{"shared-build-host", "ci-runner", "audit-only"} {
		dir := filepath.Join("..", "..", "examples", name)
		var out bytes.Buffer
		if code := runCheck([]string{"--strict", dir}, &out, &out); code != 0 {
			t.Errorf("%s: exit %d\n%s", dir, code, out.String())
		}
	}
}

func TestExplainGolden(t *testing.T) {
	pol := filepath.Join("testdata", "check", "good")
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"privileged-bind", []string{"--policy", pol, "--user", "alice", "--group", "developers", "--", "run", "--privileged", "-v", "/:/h", "alpine"}, 1},
		{"allowed", []string{"--policy", pol, "--user", "alice", "--group", "group:developers", "--", "run", "--rm", "-p", "8080:80", "alpine", "sleep", "1"}, 0},
		{"without-dashes", []string{"--policy", pol, "--user", "bob", "--plugin-name", "authz", "pull", "evil.io/x"}, 1},
		{"admin-json", []string{"--policy", pol, "--json", "--user", "root-admin", "--group", "admins", "--", "exec", "-u", "root", "c", "sh"}, 0},
		{"denied-json", []string{"--policy", pol, "--json", "--user", "alice", "--group", "developers", "--", "volume", "create", "-o", "o=bind", "-o", "type=none", "-o", "device=/", "v"}, 1},
		{"authzreq-file", []string{"--policy", pol, "--user", "alice", "--group", "developers", filepath.Join("testdata", "explain", "authzreq.json")}, 1},
		{"unknown-route", []string{"--policy", pol, "--user", "alice", "--group", "developers", filepath.Join("testdata", "explain", "unknown-route.json")}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runExplain(c.args, &out, &errb)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out.String(), errb.String())
			}
			if errb.Len() > 0 {
				t.Errorf("stderr: %s", errb.String())
			}
			golden(t, "explain/"+c.name, out.String())
		})
	}
}

func TestExplainUsageErrors(t *testing.T) {
	pol := filepath.Join("testdata", "check", "good")
	for name, args := range map[string][]string{
		"no request":          {"--policy", pol, "--user", "alice"},
		"empty after --":      {"--policy", pol, "--user", "alice", "--"},
		"docker without user": {"--policy", pol, "--", "ps"},
		"untranslatable":      {"--policy", pol, "--user", "alice", "--", "run", "--frob", "alpine"},
		"args before --":      {"--policy", pol, "--user", "alice", "x", "--", "ps"},
		"bad policy":          {"--policy", filepath.Join("testdata", "check", "invalid"), "--user", "alice", "--", "ps"},
		"group without user":  {"--policy", pol, "--group", "g", filepath.Join("testdata", "explain", "authzreq.json")},
		"missing file":        {"--policy", pol, "--user", "alice", "nope.json"},
	} {
		var out, errb bytes.Buffer
		if code := runExplain(args, &out, &errb); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s%s", name, code, out.String(), errb.String())
		}
	}
}

// The shared-build-host cases catch a weakened policy: with developers made
// unrestricted, the deny cases fail and check exits non-zero.
func TestExampleCasesCatchAWeakenedPolicy(t *testing.T) {
	src := filepath.Join("..", "..", "examples", "shared-build-host")
	dir := t.TempDir()
	cases, err := os.ReadFile(filepath.Join(src, "cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := os.ReadFile(filepath.Join(src, "policy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	weak := strings.Replace(string(pol), "g, group:developers, profile:baseline", "g, group:developers, profile:unrestricted", 1)
	if weak == string(pol) {
		t.Fatal("the example no longer grants profile:baseline to developers; update this test")
	}
	for name, data := range map[string][]byte{"cases.yaml": cases, "policy.csv": []byte(weak)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if code := runCheck([]string{dir}, &out, &out); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	for _, want := range []string{"FAIL  privileged container (cases.yaml:", "FAIL  an added capability", "FAIL  installing a plugin", "expected deny, got allow"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%s", want, out.String())
		}
	}
}
