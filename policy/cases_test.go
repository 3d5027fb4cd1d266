package policy

import (
	"strings"
	"testing"
)

const testCases = `
cases:
  - name: developers run alpine
    user: alice
    groups: [developers]
    docker: run --rm alpine true
    expect: allow
  - name: privileged is denied
    user: alice
    groups: [group:developers]
    docker: [run, --privileged, -v, "/:/h", alpine]
    expect: deny
    facet: privileged=container
    reason_contains: may not run privileged container
  - name: raw request with a YAML body
    user: alice
    groups: [developers]
    request:
      method: POST
      uri: /v1.41/containers/create
      body:
        Image: alpine
        HostConfig: {CapAdd: [SYS_ADMIN], Memory: 0, Privileged: false}
    expect: deny
    facet: cap
  - name: raw body text with a case-folded key is refused
    user: root-admin
    groups: [admins]
    request:
      method: POST
      uri: /v1.41/containers/create
      body: '{"Image":"alpine","HostConfig":{"privileged":true}}'
    expect: deny
    reason_contains: request refused
  - name: admins list containers
    user: root-admin
    groups: [admins]
    request: {method: GET, uri: /v1.41/containers/json}
    expect: allow
  - name: anonymous gets nothing
    user: anonymous
    docker: ps
    expect: deny
    facet: route
`

func TestCasesPassAndFail(t *testing.T) {
	cases, err := ParseCases("cases.yaml", strings.NewReader(testCases))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPolicy(t, testPolicy)
	for _, r := range p.RunCases(cases) {
		if !r.Pass {
			t.Errorf("%s (line %d): %s; reason: %s", r.Case.Name, r.Case.Line, r.Problem, r.Evaluation.Decision.Reason)
		}
	}
	// The same cases against a policy that lets developers do anything must fail where they expect a deny.
	open := mustPolicy(t, "g, group:developers, profile:unrestricted\ng, group:admins, profile:unrestricted\n")
	failed := map[string]string{}
	for _, r := range open.RunCases(cases) {
		if !r.Pass {
			failed[r.Case.Name] = r.Problem
		}
	}
	for _, name := range []string{"privileged is denied", "raw request with a YAML body"} {
		if !strings.Contains(failed[name], "expected deny, got allow") {
			t.Errorf("%s: want a failure, got %q", name, failed[name])
		}
	}
	if _, ok := failed["developers run alpine"]; ok {
		t.Errorf("developers run alpine failed on an open policy")
	}
	// A wrong facet or reason is a failure even when the decision matches.
	wrong := strings.Replace(testCases, "facet: privileged=container", "facet: bind=/etc", 1)
	wrong = strings.Replace(wrong, "reason_contains: may not run privileged container", "reason_contains: no such text", 1)
	cs, err := ParseCases("cases.yaml", strings.NewReader(wrong))
	if err != nil {
		t.Fatal(err)
	}
	r := p.RunCases(cs)[1]
	if r.Pass || !strings.Contains(r.Problem, "expected facet bind=/etc to be denied; denied: privileged=container, bind=/") || !strings.Contains(r.Problem, `reason does not contain "no such text"`) {
		t.Errorf("problem = %q", r.Problem)
	}
}

func TestYAMLBodyKeepsOrderAndTypes(t *testing.T) {
	cs, err := ParseCases("c", strings.NewReader(`
cases:
  - name: x
    user: u
    request:
      method: POST
      uri: /x
      body: {b: 1, a: [true, null, "s", 1.5], c: {d: "2"}}
    expect: deny
`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cs[0].Raw()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(raw.Body), `{"b":1,"a":[true,null,"s",1.5],"c":{"d":"2"}}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if raw.Headers["Content-Type"] != "application/json" {
		t.Errorf("headers %v", raw.Headers)
	}
}

func TestParseCasesRejects(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key":        "cases:\n  - name: a\n    user: u\n    docker: ps\n    expect: allow\n    expct: deny\n",
		"unknown top key":    "case:\n  - name: a\n",
		"both":               "cases:\n  - name: a\n    user: u\n    docker: ps\n    request: {method: GET, uri: /x}\n    expect: allow\n",
		"neither":            "cases:\n  - name: a\n    user: u\n    expect: allow\n",
		"bad expect":         "cases:\n  - name: a\n    user: u\n    docker: ps\n    expect: maybe\n",
		"no user":            "cases:\n  - name: a\n    docker: ps\n    expect: allow\n",
		"no name":            "cases:\n  - user: u\n    docker: ps\n    expect: allow\n",
		"duplicate name":     "cases:\n  - {name: a, user: u, docker: ps, expect: allow}\n  - {name: a, user: u, docker: ps, expect: allow}\n",
		"duplicate key":      "cases:\n  - name: a\n    name: b\n    user: u\n    docker: ps\n    expect: allow\n",
		"unknown facet":      "cases:\n  - {name: a, user: u, docker: ps, expect: deny, facet: privilged}\n",
		"facet with allow":   "cases:\n  - {name: a, user: u, docker: ps, expect: allow, facet: route}\n",
		"untranslatable":     "cases:\n  - {name: a, user: u, docker: run --frob alpine, expect: deny}\n",
		"unterminated quote": "cases:\n  - {name: a, user: u, docker: \"run 'x\", expect: deny}\n",
		"empty":              "",
		"no cases":           "cases: []\n",
		"bad group":          "cases:\n  - {name: a, user: u, groups: [\"a,b\"], docker: ps, expect: allow}\n",
	} {
		if _, err := ParseCases("cases.yaml", strings.NewReader(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
