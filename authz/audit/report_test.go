package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func renderReport(t *testing.T, paths []string, opt ReportOptions) string {
	t.Helper()
	if opt.Now == nil {
		opt.Now = func() time.Time { return at(200) }
	}
	var b bytes.Buffer
	if err := WriteReport(&b, paths, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReportContent(t *testing.T) {
	html := renderReport(t, []string{queryFixture(t)}, ReportOptions{})
	for _, want := range []string{
		`<div class="verify warn" id="verify"><b>✔ Trail verified</b>: 12 records in 1 file(s), seq 1..12`,
		`unsigned: the trail has no checkpoint`,
		`<svg id="chart-time"`, `<svg id="chart-users"`, `<svg id="chart-facets"`, `<svg id="chart-routes"`,
		`fill="` + ColorAllow + `"`, `fill="` + ColorDeny + `"`, `fill="` + ColorUserDeny + `"`, `fill="` + ColorFacetDeny + `"`, `fill="` + ColorRouteAllow + `"`,
		`Decisions over time (per hour, UTC)`,
		`<h2 id="denials">Denials (4)</h2>`,
		`<h2 id="escalations">Requests for escalation facets (3)</h2>`,
		`bind=/ cap=SYS_ADMIN`, `(caller not identified)`, `privileged=container`,
		`<td>root-admin</td><td>allow</td><td>no response</td>`,
		`Period: 2026-11-23 10:00 – 2026-11-23 12:50 UTC`,
		`<div class="n">8</div><div class="l">requests</div>`,
		`<div class="n">4</div><div class="l">denied (50.0%)</div>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Denials by user: 4 users with a denial (alice, bob, mallory, no user).
	users := regexp.MustCompile(`(?s)<svg id="chart-users".*?</svg>`).FindString(html)
	if n := strings.Count(users, `fill="`+ColorUserDeny+`"><title>`); n != 4 {
		t.Errorf("denials-by-user chart has %d bars, want 4", n)
	}
	facetsChart := regexp.MustCompile(`(?s)<svg id="chart-facets".*?</svg>`).FindString(html)
	if n := strings.Count(facetsChart, `fill="`+ColorFacetDeny+`"><title>`); n != 5 {
		t.Errorf("denied-facets chart has %d bars, want 5", n)
	}
	// Three hours: each has allowed requests; denials in each hour too.
	timeChart := regexp.MustCompile(`(?s)<svg id="chart-time".*?</svg>`).FindString(html)
	if a, d := strings.Count(timeChart, `fill="`+ColorAllow+`"><title>`), strings.Count(timeChart, `fill="`+ColorDeny+`"><title>`); a != 3 || d != 3 {
		t.Errorf("time chart has %d allow and %d deny bars, want 3 and 3", a, d)
	}
	assertSelfContained(t, html)
}

// assertSelfContained fails when the page could load anything: no script,
// no external stylesheet, image, frame, font or URL reference.
func assertSelfContained(t *testing.T, html string) {
	t.Helper()
	for _, bad := range []string{"<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", "src=", "href=", "http://", "https://"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("report is not self-contained: it contains %q", bad)
		}
	}
}

func TestReportEscapesTrailData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Host: "h", Logger: &quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	for _, r := range []*Record{
		{Stage: StageRequest, User: evil, Route: evil, Method: "POST", URI: "/x?u=https://evil.example/", Decision: Deny,
			Facets: facets("bind", evil), Reason: "x [no rule allows bind=" + evil + "; denied by default]"},
	} {
		if err := l.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	html := renderReport(t, []string{path}, ReportOptions{})
	if strings.Contains(html, "<script>") || strings.Contains(html, "<img") {
		t.Fatal("trail data reached the page unescaped")
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatal("the hostile user name is not shown escaped")
	}
}

func TestReportShowsBrokenChain(t *testing.T) {
	path := queryFixture(t)
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte(`"user":"mallory"`), []byte(`"user":"mallorx"`), 1)
	os.WriteFile(path, b, 0o600)
	html := renderReport(t, []string{path}, ReportOptions{})
	if !strings.Contains(html, `<div class="verify bad" id="verify"><b>✘ Trail verification FAILED</b>`) || !strings.Contains(html, "hash mismatch") {
		t.Fatal("a tampered trail is not reported as such at the top")
	}
	if i, j := strings.Index(html, `id="verify"`), strings.Index(html, `<h2>Summary`); i < 0 || i > j {
		t.Fatal("the verification result is not at the top")
	}
}

func TestReportEmptyAndFiltered(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "audit.jsonl")
	os.WriteFile(empty, nil, 0o600)
	html := renderReport(t, []string{empty}, ReportOptions{})
	for _, want := range []string{"No requests.", "No denials.", "No request was denied."} {
		if !strings.Contains(html, want) {
			t.Errorf("empty report lacks %q", want)
		}
	}
	html = renderReport(t, []string{queryFixture(t)}, ReportOptions{Filter: Filter{Users: []string{"bob"}}, Title: "Bob's week"})
	if !strings.Contains(html, "<title>Bob&#39;s week</title>") || !strings.Contains(html, "<b>filtered</b>") || !strings.Contains(html, `<h2 id="denials">Denials (1)</h2>`) {
		t.Error("filtered report")
	}
	if err := WriteReport(&bytes.Buffer{}, nil, ReportOptions{}); err == nil {
		t.Error("a report without files was written")
	}
}

func TestNiceMax(t *testing.T) {
	for in, want := range map[int]int{0: 1, 1: 1, 3: 5, 7: 10, 10: 10, 11: 20, 150: 200, 999: 1000, 5000: 5000} {
		if got := niceMax(in); got != want {
			t.Errorf("niceMax(%d) = %d, want %d", in, got, want)
		}
	}
}
