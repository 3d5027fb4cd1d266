package owner

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

func alice() identity.Subject {
	return identity.Subject{User: "alice", Groups: []string{"group:developers"}, AuthMethod: "tls"}
}

func mustNormalize(t testing.TB, method, uri string, body any) *request.Facts {
	t.Helper()
	raw := request.Raw{Method: method, URI: uri}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw.Body = b
		raw.Headers = map[string]string{"Content-Type": "application/json"}
	}
	f, err := request.Normalize(raw)
	if err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	return f
}

func facetsOf(fs []request.Facet) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Kind+"="+f.Value)
	}
	return strings.Join(s, " ")
}

func TestEnrichFacets(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("a1"), "aweb", "alice", true)
	f.addContainer(id64("a2"), "astopped", "alice", false)
	f.addContainer(id64("b1"), "bweb", "bob", true)
	f.addContainer(id64("d1"), "legacy", "", true)
	f.execs[id64("e1")] = id64("b1")
	f.vols["acache"] = map[string]string{Label: "alice"}
	f.vols["bcache"] = map[string]string{Label: "bob"}
	f.nets[id64("f1")] = &fakeNetwork{id: id64("f1"), name: "anet", labels: map[string]string{Label: "alice"}}
	e := &Enricher{R: newTestResolver(t, f, Config{})}
	own := url.QueryEscape(`{"label":{"com.docker-authz.owner=alice":true}}`)
	other := url.QueryEscape(`{"label":["com.docker-authz.owner=bob"]}`)

	for _, tc := range []struct {
		name, method, uri string
		body              any
		want              string // facets added, in order
		owner, id         string
	}{
		{"create own", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}}, "owner-label=self", "alice", ""},
		{"create unlabelled", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine"}, "owner-label=missing", "", ""},
		{"create for bob", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "bob"}}, "owner-label=other", "bob", ""},
		{"create mounting own volume", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}, "HostConfig": map[string]any{"Binds": []string{"acache:/c"}}}, "owner-label=self ownership=own", "alice", ""},
		{"create mounting bob's volume", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}, "HostConfig": map[string]any{"Mounts": []map[string]any{{"Type": "volume", "Source": "bcache", "Target": "/c"}}}}, "owner-label=self ownership=other", "alice", ""},
		{"create with a new volume", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}, "HostConfig": map[string]any{"Binds": []string{"fresh:/c"}}}, "owner-label=self ownership=none", "alice", ""},
		{"create joining bob's network namespace", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}, "HostConfig": map[string]any{"NetworkMode": "container:bweb"}}, "owner-label=self ownership=other", "alice", ""},
		{"volume create", "POST", "/v1.41/volumes/create", map[string]any{"Name": "v", "Labels": map[string]string{Label: "alice"}}, "owner-label=self", "alice", ""},
		{"network create", "POST", "/v1.41/networks/create", map[string]any{"Name": "n"}, "owner-label=missing", "", ""},
		{"stop own", "POST", "/v1.41/containers/aweb/stop", nil, "ownership=own", "alice", id64("a1")},
		{"stop bob's", "POST", "/v1.41/containers/bweb/stop", nil, "ownership=other", "bob", id64("b1")},
		{"logs by id prefix", "GET", "/containers/b1/logs?stdout=1", nil, "ownership=other", "bob", id64("b1")},
		{"rm unlabelled", "DELETE", "/v1.41/containers/legacy?force=1", nil, "ownership=none", "", id64("d1")},
		{"inspect missing", "GET", "/v1.41/containers/ghost/json", nil, "ownership=none", "", ""},
		{"exec into bob's", "POST", "/v1.41/containers/bweb/exec", map[string]any{"Cmd": []string{"sh"}}, "ownership=other", "bob", id64("b1")},
		{"exec start of bob's exec", "POST", "/v1.41/exec/" + id64("e1") + "/start", map[string]any{"Detach": false}, "ownership=other", "bob", id64("b1")},
		{"exec inspect", "GET", "/v1.41/exec/" + id64("e1") + "/json", nil, "ownership=other", "bob", id64("b1")},
		{"commit bob's", "POST", "/v1.41/commit?container=bweb&repo=x", nil, "ownership=other", "bob", id64("b1")},
		{"archive get", "GET", "/v1.41/containers/aweb/archive?path=/etc", nil, "ownership=own", "alice", id64("a1")},
		{"start own counts", "POST", "/v1.41/containers/astopped/start", nil, "ownership=own running-containers=2", "alice", id64("a2")},
		{"restart running own counts it once", "POST", "/v1.41/containers/aweb/restart", nil, "ownership=own running-containers=1", "alice", id64("a1")},
		{"start bob's: no quota facet", "POST", "/v1.41/containers/bweb/start", nil, "ownership=other", "bob", id64("b1")},
		{"volume rm", "DELETE", "/v1.41/volumes/acache", nil, "ownership=own", "alice", "acache"},
		{"volume inspect missing", "GET", "/v1.41/volumes/nope", nil, "ownership=none", "", ""},
		{"network connect bob's container", "POST", "/v1.41/networks/anet/connect", map[string]any{"Container": "bweb"}, "ownership=own ownership=other", "alice", id64("f1")},
		{"list unfiltered", "GET", "/v1.41/containers/json?all=1", nil, "list-filter=unfiltered", "", ""},
		{"list own", "GET", "/v1.41/containers/json?filters=" + own, nil, "list-filter=own", "", ""},
		{"list bob's", "GET", "/v1.41/volumes?filters=" + other, nil, "list-filter=unfiltered", "", ""},
		{"prune all", "POST", "/v1.41/containers/prune", nil, "ownership=other", "", ""},
		{"prune own", "POST", "/v1.41/containers/prune?filters=" + own, nil, "ownership=own", "", ""},
		{"image list: nothing", "GET", "/v1.41/images/json", nil, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			facts := mustNormalize(t, tc.method, tc.uri, tc.body)
			en, err := e.Enrich(context.Background(), alice(), facts)
			if err != nil {
				t.Fatal(err)
			}
			if got := facetsOf(en.Facets); got != tc.want {
				t.Errorf("facets %q, want %q", got, tc.want)
			}
			if en.Owner != tc.owner || en.ObjectID != tc.id {
				t.Errorf("owner %q id %q, want %q %q", en.Owner, en.ObjectID, tc.owner, tc.id)
			}
			for _, fc := range en.Facets {
				if fc.Source == "" {
					t.Errorf("facet %s has no source", fc)
				}
			}
		})
	}
}

func TestEnrichMessagesShowTheFlag(t *testing.T) {
	fc, _ := ownerLabelFacet("alice", "container", nil)
	if !strings.Contains(fc.Source, "--label com.docker-authz.owner=alice") {
		t.Errorf("missing label hint: %q", fc.Source)
	}
	fc, _ = ownerLabelFacet("alice", "volume", map[string]string{Label: "bob"})
	if !strings.Contains(fc.Source, "--label com.docker-authz.owner=alice") || !strings.Contains(fc.Source, "bob") {
		t.Errorf("other label hint: %q", fc.Source)
	}
}

func TestEnrichFailsClosed(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("a1"), "aweb", "alice", true)
	e := &Enricher{R: newTestResolver(t, f, Config{})}
	f.mu.Lock()
	f.fail = true
	f.mu.Unlock()
	for _, uri := range []string{"/v1.41/containers/aweb/stop", "/v1.41/exec/" + id64("e1") + "/resize", "/v1.41/volumes/x", "/v1.41/networks/x"} {
		_, err := e.Enrich(context.Background(), alice(), mustNormalize(t, methodFor(uri), uri, nil))
		if err == nil || !strings.Contains(err.Error(), "could not be determined") {
			t.Errorf("%s: a failed lookup must deny: %v", uri, err)
		}
	}
	// The quota lookup fails closed too.
	f.mu.Lock()
	f.fail = false
	f.mu.Unlock()
	facts := mustNormalize(t, "POST", "/v1.41/containers/aweb/start", nil)
	if _, err := e.Enrich(context.Background(), alice(), facts); err != nil {
		t.Fatal(err) // resolves and caches nothing (events off), counts fine
	}
	f.mu.Lock()
	f.fail = true
	f.mu.Unlock()
	if _, err := (&Enricher{}).Enrich(context.Background(), alice(), facts); err == nil {
		t.Error("an enricher without resolver must deny")
	}
}

func methodFor(uri string) string {
	if strings.HasSuffix(uri, "/stop") || strings.HasSuffix(uri, "/resize") {
		return "POST"
	}
	return "GET"
}

func TestInternalRecognisesOnlyOwnReadOnlyLookups(t *testing.T) {
	f := newFakeDocker(t)
	e := &Enricher{R: newTestResolver(t, f, Config{})}
	local := identity.Subject{User: identity.Anonymous, AuthMethod: "none"}
	tok := map[string]string{"X-Docker-Authz-Lookup-Token": e.R.Token()}
	for _, tc := range []struct {
		name    string
		sub     identity.Subject
		headers map[string]string
		method  string
		uri     string
		want    bool
		wantErr string
	}{
		{"inspect", local, tok, "GET", "/v1.41/containers/web/json", true, ""},
		{"exec inspect", local, tok, "GET", "/v1.41/exec/abc/json", true, ""},
		{"events", local, tok, "GET", "/v1.41/events?since=1", true, ""},
		{"list", local, tok, "GET", "/v1.41/containers/json", true, ""},
		{"network list", local, tok, "GET", "/v1.41/networks", true, ""},
		{"header case", local, map[string]string{"x-docker-authz-lookup-token": e.R.Token()}, "GET", "/v1.41/volumes/v", true, ""},
		{"no header", local, nil, "GET", "/v1.41/containers/web/json", false, ""},
		{"wrong token", local, map[string]string{TokenHeader: strings.Repeat("0", 64)}, "GET", "/v1.41/containers/web/json", false, "not this plugin's"},
		{"over TLS", alice(), tok, "GET", "/v1.41/containers/web/json", false, "client certificate"},
		{"write route", local, tok, "POST", "/v1.41/containers/web/stop", false, "read-only"},
		{"logs", local, tok, "GET", "/v1.41/containers/web/logs", false, "read-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Internal(tc.sub, tc.headers, mustNormalize(t, tc.method, tc.uri, nil))
			if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, %v; want %v, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
