package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

const testPolicy = `# test policy
g, group:admins, profile:unrestricted
g, group:developers, profile:baseline
g, group:ci, profile:restricted
p, group:developers, image, docker.io/library/*, allow
p, group:developers, image, registry.internal.example/*, allow
p, group:ci, image, docker.io/library/*, allow
p, group:ci, memory, <=2g, allow
p, group:ci, cpus, <=2000000000, allow
p, group:ci, pids-limit, <=512, allow
p, group:ci, user, *, allow
p, alice, bind, /srv/alice/*, allow
p, group:contractors, route, image:push, deny
g, bob, role:pusher
p, role:pusher, route, image:push, allow
`

func mustPolicy(t testing.TB, csv string) *Policy {
	t.Helper()
	p, err := New("model.conf", DefaultModel, "policy.csv", []byte(csv))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func subj(user string, groups ...string) identity.Subject {
	for i, g := range groups {
		groups[i] = "group:" + g
	}
	return identity.Subject{User: user, Groups: groups}
}

func facets(kv ...string) []request.Facet {
	var out []request.Facet
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, request.Facet{Kind: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestAuthorize(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	create := []string{"route", "container:create", "image", "docker.io/library/alpine:latest",
		"user", "", "cap-drop", "none", "no-new-privileges", "false", "memory", "0", "cpus", "0", "pids-limit", "0"}
	restrictedCreate := []string{"route", "container:create", "image", "docker.io/library/alpine:latest",
		"user", "1000", "cap-drop", "all", "no-new-privileges", "true", "memory", "1073741824", "cpus", "1000000000", "pids-limit", "100"}
	tests := []struct {
		name     string
		sub      identity.Subject
		facets   []string
		allow    bool
		rule     string // substring of the reason
		denyKind string // kind of the first denied facet
	}{
		{"admin may run privileged", subj("root-admin", "admins"), []string{"route", "container:create", "privileged", "container"}, true, "", ""},
		{"admin may call unknown routes", subj("root-admin", "admins"), []string{"unknown-route", "POST /x"}, true, "", ""},
		{"developer plain create", subj("alice", "developers"), create, true, "", ""},
		{"developer privileged denied by default", subj("alice", "developers"), append(append([]string{}, create...), "privileged", "container"), false, "denied by default", "privileged"},
		{"developer untrusted image", subj("alice", "developers"), []string{"route", "container:create", "image", "evil.example/x:latest"}, false, "denied by default", "image"},
		{"developer internal registry nested path", subj("carol", "developers"), []string{"route", "image:pull", "image", "registry.internal.example/team/app:1"}, true, "", ""},
		{"developer default cap", subj("alice", "developers"), []string{"route", "container:create", "cap", "CHOWN"}, true, "", ""},
		{"developer SYS_ADMIN", subj("alice", "developers"), []string{"route", "container:create", "cap", "SYS_ADMIN"}, false, "", "cap"},
		{"developer cap ALL", subj("alice", "developers"), []string{"route", "container:create", "cap", "ALL"}, false, "", "cap"},
		{"alice own bind prefix", subj("alice", "developers"), []string{"route", "container:create", "bind", "/srv/alice/work"}, true, "", ""},
		{"alice bind outside prefix", subj("alice", "developers"), []string{"route", "container:create", "bind", "/srv/alicex"}, false, "", "bind"},
		{"carol no bind", subj("carol", "developers"), []string{"route", "container:create", "bind", "/srv/alice/work"}, false, "", "bind"},
		{"unknown route for developer", subj("alice", "developers"), []string{"unknown-route", "POST /x"}, false, "", "unknown-route"},
		{"safe sysctl", subj("alice", "developers"), []string{"route", "container:create", "sysctl", "net.ipv4.ping_group_range"}, true, "", ""},
		{"unsafe sysctl", subj("alice", "developers"), []string{"route", "container:create", "sysctl", "kernel.core_pattern"}, false, "", "sysctl"},
		{"deny overrides allow across principals", subj("bob", "contractors"), []string{"route", "image:push"}, false, "p, group:contractors, route, image:push, deny", "route"},
		{"role grants push", subj("bob"), []string{"route", "image:push"}, true, "", ""},
		{"anonymous gets nothing", subj(identity.Anonymous), []string{"route", "system:ping"}, false, "denied by default", "route"},
		{"zero subject", identity.Subject{}, []string{"route", "system:ping"}, false, "no identity", ""},
		{"no facets", subj("alice", "developers"), nil, false, "no facets", ""},
		{"restricted compliant create", subj("ci-bot", "ci"), restrictedCreate, true, "", ""},
		{"restricted root user denied even though site allows user *", subj("ci-bot", "ci"), replace(restrictedCreate, "user", "root"), false, "p, profile:restricted, user, root, deny", "user"},
		{"restricted uid 0 with group", subj("ci-bot", "ci"), replace(restrictedCreate, "user", "0:0"), false, "", "user"},
		{"restricted unset user", subj("ci-bot", "ci"), replace(restrictedCreate, "user", ""), false, "", "user"},
		{"restricted memory over max", subj("ci-bot", "ci"), replace(restrictedCreate, "memory", "4294967296"), false, "", "memory"},
		{"restricted memory unlimited", subj("ci-bot", "ci"), replace(restrictedCreate, "memory", "0"), false, "", "memory"},
		{"restricted no cap-drop all", subj("ci-bot", "ci"), replace(restrictedCreate, "cap-drop", "partial"), false, "", "cap-drop"},
		{"restricted new privileges", subj("ci-bot", "ci"), replace(restrictedCreate, "no-new-privileges", "false"), false, "", "no-new-privileges"},
		{"restricted only NET_BIND_SERVICE", subj("ci-bot", "ci"), append(append([]string{}, restrictedCreate...), "cap", "CHOWN"), false, "", "cap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Authorize(tc.sub, facets(tc.facets...))
			if d.Allow != tc.allow {
				t.Fatalf("allow = %v, want %v; reason: %s", d.Allow, tc.allow, d.Reason)
			}
			if tc.rule != "" && !strings.Contains(d.Reason, tc.rule) {
				t.Errorf("reason %q does not contain %q", d.Reason, tc.rule)
			}
			if tc.denyKind != "" {
				var first string
				for _, f := range d.Facets {
					if !f.Allow {
						first = f.Kind
						break
					}
				}
				if first != tc.denyKind {
					t.Errorf("first denied facet %q, want %q (reason %s)", first, tc.denyKind, d.Reason)
				}
			}
			if d.Allow && d.Revision != p.Revision {
				t.Errorf("revision %q, want %q", d.Revision, p.Revision)
			}
			// A second call is served from the cache and must agree.
			if d2 := p.Authorize(tc.sub, facets(tc.facets...)); d2.Allow != d.Allow || d2.Reason != d.Reason {
				t.Errorf("cached decision differs: %+v vs %+v", d2, d)
			}
		})
	}
}

func replace(kv []string, kind, value string) []string {
	out := append([]string{}, kv...)
	for i := 0; i+1 < len(out); i += 2 {
		if out[i] == kind {
			out[i+1] = value
		}
	}
	return out
}

func TestZeroValuesDeny(t *testing.T) {
	var d Decision
	if d.Allow {
		t.Fatal("zero Decision allows")
	}
	var p *Policy
	if p.Authorize(subj("alice"), facets("route", "system:ping")).Allow {
		t.Fatal("nil policy allows")
	}
	if (&Policy{}).Authorize(subj("alice"), facets("route", "system:ping")).Allow {
		t.Fatal("zero policy allows")
	}
}

func TestDenyMessage(t *testing.T) {
	p := mustPolicy(t, testPolicy+"p, group:developers, privileged, *, deny\n")
	d := p.Authorize(subj("alice", "developers"), []request.Facet{
		{Kind: "route", Value: "container:create"},
		{Kind: "privileged", Value: "container", Source: "HostConfig.Privileged"},
		{Kind: "cap", Value: "SYS_ADMIN", Source: "HostConfig.CapAdd[0]"},
	})
	want := "alice (group:developers) may not "
	if d.Allow || !strings.HasPrefix(d.Reason, want) {
		t.Fatalf("reason %q", d.Reason)
	}
	for _, s := range []string{"HostConfig.Privileged", "[rule: p, group:developers, privileged, *, deny]", "also denied: cap=SYS_ADMIN"} {
		if !strings.Contains(d.Reason, s) {
			t.Errorf("reason %q lacks %q", d.Reason, s)
		}
	}
	if got := d.Rules(); len(got) != 2 || got[0] != "p, group:developers, privileged, *, deny" || got[1] != "default deny" {
		t.Errorf("Rules() = %q", got)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name, csv string
		line      int
		msg       string
	}{
		{"bad type", "x, a, b\n", 1, "unknown rule type"},
		{"p arity", "# c\np, alice, route, *\n", 2, "4 fields"},
		{"g arity", "g, alice\n", 1, "2 fields"},
		{"bad effect", "p, alice, route, *, permit\n", 1, "allow or deny"},
		{"profile rules are fixed", "p, profile:baseline, privileged, *, allow\n", 1, "built-in profile"},
		{"unknown profile", "g, alice, profile:admin\n", 1, "unknown profile"},
		{"bad subject", "p, *, route, *, allow\n", 1, "not a user name"},
		{"bad pattern", "\n\np, alice, memory, <=lots, allow\n", 3, "positive whole number"},
		{"self member", "g, role:a, role:a\n", 1, "member of itself"},
		{"user as role", "g, alice, bob\n", 1, "not group:NAME"},
		{"csv quote error", "p, alice, \"route, *, allow\n", 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("model.conf", DefaultModel, "policy.csv", []byte(tc.csv))
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a LineError", err)
			}
			if le.File != "policy.csv" || le.Line != tc.line {
				t.Errorf("at %s:%d, want policy.csv:%d (%v)", le.File, le.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestUnknownFacetRejected(t *testing.T) {
	if _, err := New("m", DefaultModel, "policy.csv", []byte("p, alice, privilged, *, deny\n")); err == nil || !strings.Contains(err.Error(), "unknown facet") {
		t.Fatalf("err = %v", err)
	}
}

func TestModelChecks(t *testing.T) {
	bad := map[string]string{
		"allow override": strings.Replace(DefaultModel, "e = some(where (p.eft == allow)) && !some(where (p.eft == deny))", "e = some(where (p.eft == allow))", 1),
		"short request":  strings.Replace(DefaultModel, "r = sub, facet, value", "r = sub, facet", 1),
		"no eft":         strings.Replace(DefaultModel, "p = sub, facet, value, eft", "p = sub, facet, value, x", 1),
	}
	for name, m := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := New("model.conf", m, "policy.csv", nil); err == nil {
				t.Fatal("bad model accepted")
			}
		})
	}
}

func TestValueMatch(t *testing.T) {
	tests := []struct {
		value, pattern string
		want           bool
	}{
		{"anything", "*", true},
		{"", "*", true},
		{"", "", true},
		{"x", "", false},
		{"docker.io/library/alpine:latest", "docker.io/library/*", true},
		{"docker.io/libraryx/alpine:latest", "docker.io/library/*", false},
		{"registry.internal.example/a/b:1", "registry.internal.example/*", true},
		{"registry.internal.example.evil.com/a:1", "registry.internal.example/*", false},
		{"/srv/a/b", "/srv/*", true},
		{"/srv", "/srv/*", false},
		{"abc", "a?c", true},
		{"aé", "a?", true},
		{"ac", "a?c", false},
		{"1073741824", "<=1g", true},
		{"1073741825", "<=1g", false},
		{"0", "<=1g", false},
		{"-5", "<=1g", false},
		{"12x", "<=1g", false},
		{"5", "<=x", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*c", false},
	}
	for _, tc := range tests {
		if got := valueMatch(tc.value, tc.pattern); got != tc.want {
			t.Errorf("valueMatch(%q, %q) = %v, want %v", tc.value, tc.pattern, got, tc.want)
		}
	}
}

func BenchmarkAuthorizeCreate(b *testing.B) {
	p := mustPolicy(b, testPolicy)
	sub := subj("alice", "developers")
	fs := facets("route", "container:create", "image", "docker.io/library/alpine:latest",
		"user", "", "cap-drop", "none", "no-new-privileges", "false", "memory", "0", "cpus", "0", "pids-limit", "0")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if !p.Authorize(sub, fs).Allow {
			b.Fatal("denied")
		}
	}
}

func TestProfilesUseKnownFacets(t *testing.T) {
	for _, r := range builtinRules() {
		if r[1] != "*" && !KnownFacet(r[1]) {
			t.Errorf("profile rule %v names facet %q, which package request never raises", r, r[1])
		}
		if err := checkPattern(r[2]); err != nil {
			t.Errorf("profile rule %v: %v", r, err)
		}
	}
}

func TestDescribeEveryKind(t *testing.T) {
	for _, k := range request.Catalogue {
		d := Describe(k.Kind, "VALUE")
		if d == "" || strings.Contains(d, "%!") {
			t.Errorf("Describe(%q) = %q", k.Kind, d)
		}
	}
}

func TestExamplesLoad(t *testing.T) {
	dirs, _ := filepath.Glob("../examples/*")
	if len(dirs) == 0 {
		t.Fatal("no examples found")
	}
	for _, d := range dirs {
		if _, err := LoadDir(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
		m, err := os.ReadFile(filepath.Join(d, ModelFile))
		if err == nil && string(m) != DefaultModel {
			t.Errorf("%s/%s differs from the built-in DefaultModel; keep them identical", d, ModelFile)
		}
	}
}
