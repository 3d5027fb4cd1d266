package policy

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/docker-authz/docker-authz/authz/request"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the facet table in ../README.md")

const (
	tableBegin = "<!-- facet-table:begin (generated: go test ./policy -run TestREADMEFacetTable -update-readme) -->\n"
	tableEnd   = "<!-- facet-table:end -->"
)

// TestREADMEFacetTable keeps the README's facet table equal to what the
// catalogue and the profiles say.
func TestREADMEFacetTable(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no facet table markers %q ... %q", tableBegin, tableEnd)
	}
	want := FacetTableMarkdown()
	got := s[i+len(tableBegin) : j]
	if got == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(s[:i+len(tableBegin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md facet table is stale; run: go test ./policy -run TestREADMEFacetTable -update-readme")
}

func TestFacetDocs(t *testing.T) {
	docs := map[string]FacetDoc{}
	for _, d := range FacetDocs() {
		docs[d.Kind] = d
	}
	if len(docs) != len(request.Catalogue)+1 {
		t.Fatalf("%d docs for %d catalogue kinds (+unknown-route)", len(docs), len(request.Catalogue))
	}
	tests := []struct {
		kind, baseline, restricted string
	}{
		{"privileged", "denied", "denied"},
		{"bind", "denied", "denied"},
		{"route", "allowed", "allowed"},
		{"volume", "allowed", "allowed"},
		{"container-ns", "allowed", "denied"},
		{"cap", "only AUDIT_WRITE,", "only NET_BIND_SERVICE"},
		{"runtime", "only runc, io.containerd.runc.v2", "only runc, io.containerd.runc.v2"},
		{"user", "allowed", "allowed; never \"\" (unset), root"},
		{"cap-drop", "allowed", "only all"},
		{"memory", "allowed", "site sets the maximum (`<=N`); never 0"},
		{"unknown-route", "denied", "denied"},
	}
	for _, tc := range tests {
		d, ok := docs[tc.kind]
		if !ok {
			t.Errorf("%s: not documented", tc.kind)
			continue
		}
		if !strings.HasPrefix(d.Baseline, tc.baseline) || !strings.HasPrefix(d.Restricted, tc.restricted) {
			t.Errorf("%s: baseline %q restricted %q; want prefixes %q and %q", tc.kind, d.Baseline, d.Restricted, tc.baseline, tc.restricted)
		}
		if d.Where == "" {
			t.Errorf("%s: no 'where'", tc.kind)
		}
	}
}
