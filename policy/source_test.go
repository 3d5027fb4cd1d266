package policy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

func rule(typ string, fields ...string) Rule {
	return Rule{Type: typ, Fields: fields, File: "postgres://db/authz", Line: 1}
}

func TestFromRulesValidatesLikeCSV(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Rule
		want string // substring of the error; "" = valid
	}{
		{"valid p", rule("p", "alice", "privileged", "*", "deny"), ""},
		{"valid g", rule("g", "group:developers", "profile:baseline"), ""},
		{"empty value pattern", rule("p", "alice", "user", "", "allow"), ""},
		{"comma in value", rule("p", "alice", "image", "a,b", "allow"), ""},
		{"unknown facet", rule("p", "alice", "privilegd", "*", "deny"), `unknown facet "privilegd"`},
		{"bad effect", rule("p", "alice", "privileged", "*", "maybe"), "allow or deny"},
		{"too few fields", rule("p", "alice", "privileged", "*"), "4 fields"},
		{"profile rules are fixed", rule("p", "profile:baseline", "privileged", "*", "allow"), "built-in profile"},
		{"unknown type", rule("g2", "alice", "group:x"), `unknown rule type "g2"`},
		{"blank around a field", rule("p", " alice", "privileged", "*", "deny"), "leading or trailing blanks"},
		{"line break", rule("p", "alice", "image", "a\nb", "allow"), "line break"},
		{"empty type", rule("", "alice"), "unknown rule type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromRules("(model)", DefaultModel, []Rule{tc.r})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid rule rejected: %v", err)
				}
				if len(p.Rules) != 1 || p.Model != DefaultModel {
					t.Fatalf("policy = %+v", p)
				}
				return
			}
			if err == nil {
				t.Fatalf("invalid rule %v accepted", tc.r)
			}
			var le *LineError
			if !errors.As(err, &le) || le.File != "postgres://db/authz" {
				t.Fatalf("error %v does not name where the rule came from", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestFromRulesDecidesLikeTheSameCSV(t *testing.T) {
	csv := "p, group:developers, image, docker.io/library/*, allow\np, alice, image, \"weird,name\", allow\ng, group:developers, profile:baseline\n"
	fromCSV, err := New("(built-in model)", DefaultModel, "policy.csv", []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseRules("x", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	fromDB, err := FromRules("(model)", DefaultModel, rules)
	if err != nil {
		t.Fatal(err)
	}
	// The canonical text of these rules is the CSV above, so the revisions
	// agree: an exported directory has the revision the plugins report.
	if !bytes.Equal(FormatRules(rules), []byte(csv)) {
		t.Fatalf("FormatRules:\n%s\nwant:\n%s", FormatRules(rules), csv)
	}
	if fromCSV.Revision != fromDB.Revision {
		t.Fatalf("revisions differ: csv %s, rules %s", fromCSV.Revision, fromDB.Revision)
	}
	sub := identity.Subject{User: "alice", Groups: []string{"developers"}}
	for _, img := range []string{"docker.io/library/alpine:latest", "evil.io/x:1", "weird,name"} {
		f := []request.Facet{{Kind: "image", Value: img}}
		if a, b := fromCSV.Authorize(sub, f).Allow, fromDB.Authorize(sub, f).Allow; a != b {
			t.Fatalf("image %s: csv allow=%v, rules allow=%v", img, a, b)
		}
	}
	if !fromDB.Authorize(sub, []request.Facet{{Kind: "image", Value: "weird,name"}}).Allow {
		t.Fatal("a quoted value with a comma was not kept")
	}
}

func TestFormatRulesRoundTrip(t *testing.T) {
	rules := []Rule{
		{Type: "p", Fields: []string{"alice", "user", "", "allow"}},
		{Type: "p", Fields: []string{"bob", "image", `a"b,c`, "deny"}},
		{Type: "g", Fields: []string{"bob", "group:x"}},
	}
	back, err := ParseRules("x", bytes.NewReader(FormatRules(rules)))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rules) {
		t.Fatalf("got %d rules", len(back))
	}
	for i := range rules {
		if back[i].String() != rules[i].String() {
			t.Fatalf("rule %d: %q, want %q", i, back[i], rules[i])
		}
	}
}

func TestDiff(t *testing.T) {
	a, err := FromRules("m", DefaultModel, []Rule{
		rule("p", "alice", "privileged", "*", "deny"),
		rule("g", "group:developers", "profile:baseline"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromRules("m", DefaultModel, []Rule{
		rule("g", "group:developers", "profile:baseline"),
		rule("p", "bob", "privileged", "*", "deny"),
		rule("g", "group:developers", "profile:baseline"), // duplicates do not count
	})
	if err != nil {
		t.Fatal(err)
	}
	d := Diff(a, b)
	if d.Empty() || len(d.OnlyA) != 1 || len(d.OnlyB) != 1 || d.ModelDiffers {
		t.Fatalf("diff = %+v", d)
	}
	if d.OnlyA[0].String() != "p, alice, privileged, *, deny" || d.OnlyB[0].String() != "p, bob, privileged, *, deny" {
		t.Fatalf("diff = %+v", d)
	}
	if !Diff(a, a).Empty() {
		t.Fatal("a policy differs from itself")
	}
	c, err := FromRules("m", "# a comment\n"+DefaultModel, a.Rules)
	if err != nil {
		t.Fatal(err)
	}
	if !Diff(a, c).Empty() {
		t.Fatal("a comment in the model makes a difference")
	}
}

func TestDirSource(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, PolicyFile), []byte("g, group:admins, profile:unrestricted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var s Source = DirSource{Dir: dir}
	p, err := s.Load(context.Background())
	if err != nil || len(p.Rules) != 1 || p.Model != DefaultModel {
		t.Fatalf("Load = %v, %v", p, err)
	}
	name, text, err := ReadDirModel(dir)
	if err != nil || text != DefaultModel || name != "(built-in model)" {
		t.Fatalf("ReadDirModel = %q, %v", name, err)
	}
}
