package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

var qt0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func at(min int) time.Time { return qt0.Add(time.Duration(min) * time.Minute) }

func facets(kv ...string) []request.Facet {
	var out []request.Facet
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, request.Facet{Kind: kv[i], Value: kv[i+1]})
	}
	return out
}

const containerID = "4f2a9c1be0d35f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"

// queryFixture writes, through the real Log, a trail of a morning on a
// shared build host, and returns its path. Request ids are the names used
// in the tests.
func queryFixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path, Options{Host: "build-1", Logger: &quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	dev := []string{"group:developers"}
	recs := []*Record{
		{ID: "alice-run", Time: at(0), Stage: StageRequest, User: "alice", Groups: dev, Method: "POST", URI: "/v1.41/containers/create", Route: "container:create",
			Facets: facets("route", "container:create", "image", "docker.io/library/alpine:latest"), Decision: Allow, Reason: "alice (group:developers) is allowed"},
		{ID: "alice-run-res", Time: at(0).Add(time.Second), Stage: StageResponse, RequestID: "alice-run", User: "alice", Groups: dev, Method: "POST", URI: "/v1.41/containers/create", Route: "container:create", Status: 201, Decision: Allow},
		{ID: "alice-priv", Time: at(5), Stage: StageRequest, User: "alice", Groups: dev, Method: "POST", URI: "/v1.41/containers/create", Route: "container:create",
			Facets: facets("route", "container:create", "privileged", "container"), Decision: Deny,
			Reason: "alice (group:developers) may not run privileged containers (HostConfig.Privileged) [no rule allows privileged=container; denied by default]"},
		{ID: "bob-ps", Time: at(10), Stage: StageRequest, User: "bob", Groups: dev, Method: "GET", URI: "/v1.41/containers/json", Route: "container:list",
			Facets: facets("route", "container:list"), Decision: Allow},
		{ID: "bob-ps-res", Time: at(10), Stage: StageResponse, RequestID: "bob-ps", User: "bob", Groups: dev, Method: "GET", URI: "/v1.41/containers/json", Route: "container:list", Status: 200, Decision: Allow},
		{ID: "bob-bind", Time: at(80), Stage: StageRequest, User: "bob", Groups: dev, Method: "POST", URI: "/v1.41/containers/create", Route: "container:create",
			Facets: facets("route", "container:create", "bind", "/", "cap", "SYS_ADMIN"), Decision: Deny,
			Reason: "bob (group:developers) may not mount the host path / (HostConfig.Binds) [rule: p, group:developers, bind, *, deny]; also denied: cap=SYS_ADMIN"},
		{ID: "admin-bind", Time: at(90), Stage: StageRequest, User: "root-admin", Groups: []string{"group:admins"}, Method: "POST", URI: "/v1.41/containers/create?name=build", Route: "container:create", Object: "build",
			Facets: facets("route", "container:create", "bind", "/tmp"), Decision: Allow},
		// no response for admin-bind: the plugin stopped in between
		{ID: "anon-ping", Time: at(160), Stage: StageRequest, User: "", Method: "GET", URI: "/_ping", Route: "system:ping", Decision: Deny,
			Reason: "could not identify the caller: TLS client certificate not signed by the configured CA"},
		{ID: "alice-start", Time: at(165), Stage: StageRequest, User: "alice", Groups: dev, Method: "POST", URI: "/v1.41/containers/" + containerID + "/start", Route: "container:start", Object: containerID,
			Facets: facets("route", "container:start"), Decision: Allow},
		{ID: "alice-start-res", Time: at(165), Stage: StageResponse, RequestID: "alice-start", User: "alice", Groups: dev, Method: "POST", URI: "/v1.41/containers/" + containerID + "/start", Route: "container:start", Status: 204, Decision: Allow},
		{ID: "mallory-ps", Time: at(170), Stage: StageRequest, User: "mallory", Method: "GET", URI: "/v1.41/containers/json", Route: "container:list",
			Facets: facets("route", "container:list"), Decision: Deny, Reason: "mallory may not list containers [no rule allows route=container:list; denied by default]"},
		{ID: "orphan-res", Time: at(171), Stage: StageResponse, RequestID: "from-an-older-file", User: "bob", Method: "GET", URI: "/v1.41/info", Route: "system:info", Status: 200, Decision: Allow},
	}
	for _, r := range recs {
		if err := l.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func ids(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Request.ID)
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	path := queryFixture(t)
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"everything", Filter{}, []string{"alice-run", "alice-priv", "bob-ps", "bob-bind", "admin-bind", "anon-ping", "alice-start", "mallory-ps"}},
		{"user", Filter{Users: []string{"alice"}}, []string{"alice-run", "alice-priv", "alice-start"}},
		{"two users", Filter{Users: []string{"bob", "mallory"}}, []string{"bob-ps", "bob-bind", "mallory-ps"}},
		{"no such user", Filter{Users: []string{"eve"}}, []string{}},
		{"group without prefix", Filter{Groups: []string{"admins"}}, []string{"admin-bind"}},
		{"group with prefix", Filter{Groups: []string{"group:developers"}, Decision: Deny}, []string{"alice-priv", "bob-bind"}},
		{"denials", Filter{Decision: Deny}, []string{"alice-priv", "bob-bind", "anon-ping", "mallory-ps"}},
		{"allows", Filter{Decision: Allow}, []string{"alice-run", "bob-ps", "admin-bind", "alice-start"}},
		{"since inclusive", Filter{Since: at(80)}, []string{"bob-bind", "admin-bind", "anon-ping", "alice-start", "mallory-ps"}},
		{"until exclusive", Filter{Until: at(10)}, []string{"alice-run", "alice-priv"}},
		{"window", Filter{Since: at(5), Until: at(90)}, []string{"alice-priv", "bob-ps", "bob-bind"}},
		{"route exact", Filter{Routes: []string{"container:list"}}, []string{"bob-ps", "mallory-ps"}},
		{"route glob", Filter{Routes: []string{"container:*"}, Users: []string{"alice"}}, []string{"alice-run", "alice-priv", "alice-start"}},
		{"route glob system", Filter{Routes: []string{"system:*"}}, []string{"anon-ping"}},
		{"facet kind", Filter{Facets: []FacetMatch{{Kind: "privileged"}}}, []string{"alice-priv"}},
		{"facet value", Filter{Facets: []FacetMatch{{Kind: "bind", Value: "/tmp"}}}, []string{"admin-bind"}},
		{"facet value glob", Filter{Facets: []FacetMatch{{Kind: "bind", Value: "/*"}}}, []string{"bob-bind", "admin-bind"}},
		{"facets and", Filter{Facets: []FacetMatch{{Kind: "bind"}, {Kind: "cap", Value: "SYS_ADMIN"}}}, []string{"bob-bind"}},
		{"object by name", Filter{Object: "build"}, []string{"admin-bind"}},
		{"object by id prefix", Filter{Object: "4f2a9c"}, []string{"alice-start"}},
		{"object short prefix is not a match", Filter{Object: "4f"}, []string{}},
		{"host", Filter{Host: "build-1", Users: []string{"bob"}}, []string{"bob-ps", "bob-bind"}},
		{"other host", Filter{Host: "build-2"}, []string{}},
		{"combined", Filter{Users: []string{"alice"}, Decision: Allow, Since: at(1)}, []string{"alice-start"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Query([]string{path}, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res.Entries); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if res.Records != 12 || len(res.Problems) != 0 {
				t.Fatalf("records %d problems %v", res.Records, res.Problems)
			}
		})
	}
}

func TestQueryPairsResponses(t *testing.T) {
	res, err := Query([]string{queryFixture(t)}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"alice-run": "201", "alice-priv": "denied", "bob-ps": "200", "bob-bind": "denied",
		"admin-bind": "no response", "anon-ping": "denied", "alice-start": "204", "mallory-ps": "denied",
	}
	for _, e := range res.Entries {
		if got := e.Outcome(); got != want[e.Request.ID] {
			t.Errorf("%s: outcome %q, want %q", e.Request.ID, got, want[e.Request.ID])
		}
		if e.Response != nil && e.Response.RequestID != e.Request.ID {
			t.Errorf("%s paired with the response of %s", e.Request.ID, e.Response.RequestID)
		}
	}
}

func TestDeniedFacets(t *testing.T) {
	res, err := Query([]string{queryFixture(t)}, Filter{Decision: Deny})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		denied []request.Facet
		cause  []string
	}{
		"alice-priv": {facets("privileged", "container"), []string{"privileged"}},
		"bob-bind":   {facets("bind", "/", "cap", "SYS_ADMIN"), []string{"bind", "cap"}},
		"anon-ping":  {nil, []string{"(caller not identified)"}},
		"mallory-ps": {facets("route", "container:list"), []string{"route"}},
	}
	for _, e := range res.Entries {
		w := want[e.Request.ID]
		if !reflect.DeepEqual(e.Denied, w.denied) {
			t.Errorf("%s: denied %v, want %v", e.Request.ID, e.Denied, w.denied)
		}
		if got := e.DenyCause(); !reflect.DeepEqual(got, w.cause) {
			t.Errorf("%s: cause %v, want %v", e.Request.ID, got, w.cause)
		}
	}
	// A record carrying "denied" (newer writers) is taken as is.
	r := &Record{Reason: "x [no rule allows a=b; denied by default]", Denied: facets("bind", "/a, b")}
	if got := deniedFacets(r); !reflect.DeepEqual(got, facets("bind", "/a, b")) {
		t.Errorf("denied member ignored: %v", got)
	}
	var rr Record
	if err := json.Unmarshal([]byte(`{"seq":1,"stage":"request","decision":"deny","denied":[{"kind":"cap","value":"ALL"}]}`), &rr); err != nil {
		t.Fatal(err)
	}
	if got := deniedFacets(&rr); !reflect.DeepEqual(got, facets("cap", "ALL")) {
		t.Errorf("denied member not decoded: %v", got)
	}
}

func TestQuerySkipsDamagedLines(t *testing.T) {
	path := queryFixture(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	damaged := append(append(append([]byte{}, bytes.Join(lines[:2], nil)...), []byte("not json at all\n{\"x\":1}\n")...), bytes.Join(lines[2:], nil)...)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Query([]string{path}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 8 {
		t.Fatalf("%d entries, want 8", len(res.Entries))
	}
	if len(res.Problems) != 2 || res.Problems[0].Line != 3 || res.Problems[1].Line != 4 {
		t.Fatalf("problems %v, want lines 3 and 4", res.Problems)
	}
}

func TestQueryAcrossFiles(t *testing.T) {
	path := queryFixture(t)
	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	// Split after the first request: its response is in the second file.
	dir := t.TempDir()
	a, c := filepath.Join(dir, "audit.jsonl.000000000001"), filepath.Join(dir, "audit.jsonl")
	os.WriteFile(a, lines[0], 0o600)
	os.WriteFile(c, bytes.Join(lines[1:], nil), 0o600)
	res, err := Query([]string{a, c}, Filter{Users: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 3 || res.Entries[0].Outcome() != "201" || res.Entries[0].File != a || res.Entries[2].File != c {
		t.Fatalf("entries across files: %+v", res.Entries)
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"2026-11-23T10:00:00Z", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), false},
		{"2026-11-23T12:00:00+02:00", time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), false},
		{"2026-11-23", time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), false},
		{"2026-11-23 10:30", time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC), false},
		{"2026-11-23T10:30", time.Date(2026, 11, 23, 10, 30, 0, 0, time.UTC), false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"7d", now.Add(-7 * 24 * time.Hour), false},
		{"yesterday", time.Time{}, true},
		{"-5h", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in, now)
		if (err != nil) != tc.err || (!tc.err && !got.Equal(tc.want)) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"container:*", "container:create", true},
		{"container:*", "image:create", false},
		{"*:create", "image:create", true},
		{"/var/run/*", "/var/run/docker.sock", true},
		{"/var/*/docker.sock", "/var/run/docker.sock", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"ab*ab", "ab", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*", "", true},
	}
	for _, tc := range tests {
		if got := wildcardMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tc.p, tc.s, got)
		}
	}
}

func TestQueryOutputs(t *testing.T) {
	res, err := Query([]string{queryFixture(t)}, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, res.Entries, 40); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("table has %d lines, want header + 8:\n%s", len(lines), table.String())
	}
	for i, want := range [][]string{
		{"TIME (UTC)", "USER", "DECISION", "STATUS", "ROUTE", "OBJECT", "REASON"},
		{"2026-11-23 10:00:00", "alice", "allow", "201", "container:create"},
		{"alice", "deny", "-", "container:create", "alice (group:developers) may not run pr…"},
		{"bob", "allow", "200", "container:list"},
		{"bob", "deny"},
		{"root-admin", "allow", "no response", "build"},
		{"2026-11-23 12:40:00", "-", "deny", "system:ping", "could not identify"},
		{"alice", "allow", "204", "container:start", "4f2a9c1be0d3 "},
		{"mallory", "deny"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("table line %d lacks %q: %s", i, w, lines[i])
			}
		}
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, res.Entries); err != nil {
		t.Fatal(err)
	}
	var got []EntryJSON
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var e EntryJSON
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("JSON line %q: %v", l, err)
		}
		got = append(got, e)
	}
	if len(got) != 8 || got[0].Outcome != "201" || got[0].Status != 201 || got[0].ResponseTime == nil ||
		got[3].User != "bob" || !reflect.DeepEqual(got[3].Denied, facets("bind", "/", "cap", "SYS_ADMIN")) || got[4].Outcome != "no response" {
		t.Fatalf("JSON entries: %+v", got)
	}

	var cb bytes.Buffer
	if err := WriteCSV(&cb, res.Entries); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 9 || !reflect.DeepEqual(rows[0], csvHeader) || rows[4][4] != "bob" || rows[4][13] != "bind=/ cap=SYS_ADMIN" {
		t.Fatalf("CSV rows: %v", rows)
	}
}

// A value with a newline or terminal escape cannot forge a table row.
func TestTableNeutralisesControlCharacters(t *testing.T) {
	e := Entry{Request: &Record{User: "eve\n2026-01-01 00:00:00  admin  allow", Decision: Deny, Reason: "x\x1b[31mred", Route: "r"}}
	var b bytes.Buffer
	if err := WriteTable(&b, []Entry{e}, 0); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 2 || strings.Contains(b.String(), "\x1b") {
		t.Fatalf("control characters reached the table: %q", b.String())
	}
}
