package authz

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity/identitytest"
	"github.com/docker-authz/docker-authz/authz/request"
)

// kv is a facet without its source, for comparing denied facets.
type kv struct{ Kind, Value string }

func kvs(fs []request.Facet) []kv {
	var out []kv
	for _, f := range fs {
		out = append(out, kv{f.Kind, f.Value})
	}
	return out
}

// TestAuditRecordsDeniedFacets: a policy deny records the refused facets in
// "denied" (kinds, values and sources, each one also among the record's
// facets); an allow, and a deny that never reached the policy (caller not
// identified, request not understood), record none.
func TestAuditRecordsDeniedFacets(t *testing.T) {
	priv := []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`)
	privBind := []byte(`{"Image":"alpine","HostConfig":{"Privileged":true,"Binds":["/srv/data:/data"]}}`)
	tests := []struct {
		name     string
		body     func(f *fixture, t *testing.T) []byte
		decision string
		denied   []kv
		sources  []string // of the denied facets, when checked
	}{
		{"privileged denied by default", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", priv)
		}, audit.Deny, []kv{{"privileged", "container"}}, []string{"HostConfig.Privileged"}},
		{"privileged and a denied bind", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", privBind)
		}, audit.Deny, []kv{{"privileged", "container"}, {"bind", "/srv/data"}}, nil},
		{"anonymous route", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "", nil, "GET", "/_ping", nil)
		}, audit.Deny, []kv{{"route", "system:ping"}}, nil},
		{"admin allowed", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "root-admin", []string{"admins"}, "POST", "/v1.41/containers/create", privBind)
		}, audit.Allow, nil, nil},
		{"request not understood", func(f *fixture, t *testing.T) []byte {
			return f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create", []byte(`{"Image":"alpine","HostConfig":{"privileged":true}}`))
		}, audit.Deny, nil, nil},
		{"caller not identified", func(f *fixture, t *testing.T) []byte {
			other := &fixture{ca: identitytest.NewCA(t)}
			return other.wire(t, "alice", []string{"admins"}, "POST", "/v1.41/containers/create", priv)
		}, audit.Deny, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			res := post(t, f.srv.Handler(), "/AuthZPlugin.AuthZReq", tc.body(f, t))
			rec := f.trail.last()
			if rec.Decision != tc.decision || res.Allow != (tc.decision == audit.Allow) {
				t.Fatalf("decision %s (allow=%v), want %s: %s", rec.Decision, res.Allow, tc.decision, rec.Reason)
			}
			if got := kvs(rec.Denied); !reflect.DeepEqual(got, tc.denied) {
				t.Fatalf("denied %v, want %v (reason %q)", got, tc.denied, rec.Reason)
			}
			for i, src := range tc.sources {
				if rec.Denied[i].Source != src {
					t.Errorf("denied[%d] source %q, want %q", i, rec.Denied[i].Source, src)
				}
			}
			for _, d := range rec.Denied {
				found := false
				for _, f := range rec.Facets {
					found = found || f == d
				}
				if !found {
					t.Errorf("denied facet %v is not among the record's facets %v", d, rec.Facets)
				}
			}
		})
	}
}

// TestAuditQueryDeniedFacets: through a real trail written by the Server,
// query's --facet and --denied filters find a deny by its refused facet,
// and stats counts it, from the "denied" member.
func TestAuditQueryDeniedFacets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	f, l := newTrailFixture(t, path, audit.Options{}, audit.Levels{})
	h := f.srv.Handler()
	for _, w := range [][]byte{
		f.wire(t, "alice", []string{"developers"}, "POST", "/v1.41/containers/create?name=a", []byte(`{"Image":"alpine","HostConfig":{"Binds":["/srv/data:/data"]}}`)),
		f.wire(t, "bob", []string{"developers"}, "POST", "/v1.41/containers/create?name=b", []byte(`{"Image":"alpine","HostConfig":{"Privileged":true}}`)),
		f.wire(t, "root-admin", []string{"admins"}, "POST", "/v1.41/containers/create?name=c", []byte(`{"Image":"alpine","HostConfig":{"Privileged":true,"Binds":["/srv/data:/data"]}}`)),
	} {
		post(t, h, "/AuthZPlugin.AuthZReq", w)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The record on disk carries the member.
	for _, r := range readRecords(t, path) {
		if r.User == "alice" && !reflect.DeepEqual(kvs(r.Denied), []kv{{"bind", "/srv/data"}}) {
			t.Errorf("alice's record: denied %v", r.Denied)
		}
	}
	users := func(fl audit.Filter) []string {
		t.Helper()
		res, err := audit.Query([]string{path}, fl)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range res.Entries {
			out = append(out, e.Request.User)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    audit.Filter
		want []string
	}{
		{"--facet bind", audit.Filter{Facets: []audit.FacetMatch{{Kind: "bind", Value: "/srv/*"}}}, []string{"alice", "root-admin"}},
		{"--facet bind --decision deny", audit.Filter{Decision: audit.Deny, Facets: []audit.FacetMatch{{Kind: "bind"}}}, []string{"alice"}},
		{"--denied bind", audit.Filter{Denied: []audit.FacetMatch{{Kind: "bind", Value: "/srv/data"}}}, []string{"alice"}},
		{"--denied privileged", audit.Filter{Denied: []audit.FacetMatch{{Kind: "privileged"}}}, []string{"bob"}},
		{"--denied cap", audit.Filter{Denied: []audit.FacetMatch{{Kind: "cap"}}}, nil},
	} {
		if got := users(tc.f); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	st, err := audit.ComputeStats([]string{path}, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"bind": 1, "privileged": 1}; !reflect.DeepEqual(st.DeniedFacets, want) {
		t.Errorf("stats denied facets %v, want %v", st.DeniedFacets, want)
	}
	if want := map[string]int{"bind=/srv/data": 1, "privileged=container": 1}; !reflect.DeepEqual(st.DeniedValues, want) {
		t.Errorf("stats denied values %v, want %v", st.DeniedValues, want)
	}
}
