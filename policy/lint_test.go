package policy

import (
	"strings"
	"testing"
)

func TestLint(t *testing.T) {
	p := mustPolicy(t, `g, group:developers, profile:baseline
g, group:ci, profile:restricted
p, group:developers, image, docker.io/library/*, allow
p, group:developers, image, docker.io/library/*, allow
p, group:developers, privileged, <=2, allow
p, group:developers, hostns, host, deny
p, group:developers, cap, cap_sys_admin, allow
p, group:developers, route, container:crate, allow
p, group:developers, bind, srv/*, allow
p, group:developers, image, alpine, allow
p, group:developers, memory, 2g, allow
p, role:auditors, route, system:info, allow
p, group:developers, bind, *, deny
p, group:developers, bind, /srv/*, allow
p, group:developers, bind, /etc/*, deny
p, group:ci, user, root, allow
p, group:ci, memory, <=2g, allow
p, group:ci, image, registry.internal.example/*, allow
`)
	var got []string
	for _, f := range Lint(p) {
		got = append(got, f.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"policy.csv:4: warning: duplicate of line 3",
		"policy.csv:5: error: this rule can never match: \"<=2\" is a numeric limit, but privileged values are not numbers",
		"policy.csv:6: error: this rule can never match: hostns values are one of network, pid",
		"policy.csv:7: error: this rule can never match: capabilities are matched upper case",
		"policy.csv:8: error: this rule can never match: \"container:crate\" matches no route name",
		"policy.csv:9: error: this rule can never match: bind values are absolute host paths",
		"policy.csv:10: error: this rule can never match: images are matched by their full name",
		"policy.csv:11: error: this rule can never match: memory values are whole numbers",
		"policy.csv:12: warning: nobody has role:auditors",
		"policy.csv:9: warning: this allow never takes effect: the deny rule `p, group:developers, bind, *, deny` (line 13)",
		"policy.csv:14: warning: this allow never takes effect: the deny rule `p, group:developers, bind, *, deny` (line 13)",
		"policy.csv:15: warning: this deny is redundant: the broader deny rule `p, group:developers, bind, *, deny` (line 13)",
		"policy.csv:16: warning: this allow never takes effect: the deny rule `p, profile:restricted, user, root, deny` ((built-in profile:restricted))",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing finding %q in\n%s", want, all)
		}
	}
	for _, clean := range []string{"policy.csv:17:", "policy.csv:18:", "policy.csv:1:", "policy.csv:2:", "policy.csv:13:"} {
		if strings.Contains(all, clean) {
			t.Errorf("unexpected finding for %s in\n%s", clean, all)
		}
	}
}

func TestLintCleanPolicies(t *testing.T) {
	for _, csv := range []string{
		testPolicy,
		"g, group:admins, profile:unrestricted\n",
		"p, alice, *, *, allow\np, alice, privileged, *, deny\n",
		"g, group:ci, role:builder\np, role:builder, build, remote:https://git.example/*, allow\np, role:builder, build, context, allow\n",
	} {
		if fs := Lint(mustPolicy(t, csv)); len(fs) > 0 {
			t.Errorf("policy\n%s\nfindings: %v", csv, fs)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"*", "x", true}, {"x", "*", false}, {"/srv/*", "/srv/a/*", true}, {"/srv/*", "/sr*", false},
		{"<=2g", "<=1g", true}, {"<=1g", "<=2g", false}, {"/etc", "/etc", true}, {"/e?c", "/etc", true},
		{"<=2g", "1024", false}, {"*x", "a*x", false}, {">1g", ">2g", true}, {">2g", ">1g", false},
	} {
		if got := covers(c.a, c.b); got != c.want {
			t.Errorf("covers(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
