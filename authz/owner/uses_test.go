package owner

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestEnrichUses covers what a new container reaches into besides volumes
// and namespaces: user-defined networks (by name, id and id prefix),
// legacy links, volumes-from, the old start body and service specs.
func TestEnrichUses(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("a1"), "aweb", "alice", true)
	f.addContainer(id64("b1"), "bobdb", "bob", true)
	f.addContainer(id64("d1"), "legacy", "", false)
	f.vols["bcache"] = map[string]string{Label: "bob"}
	f.nets[id64("f1")] = &fakeNetwork{id: id64("f1"), name: "anet", labels: map[string]string{Label: "alice"}}
	f.nets[id64("f2")] = &fakeNetwork{id: id64("f2"), name: "bobnet", labels: map[string]string{Label: "bob"}}
	f.nets[id64("f3")] = &fakeNetwork{id: id64("f3"), name: "host"}
	f.nets[id64("f4")] = &fakeNetwork{id: id64("f4"), name: "none"}
	e := &Enricher{R: newTestResolver(t, f, Config{CacheSize: -1})}
	own := map[string]string{Label: "alice"}
	create := func(hc map[string]any, nc map[string]any) map[string]any {
		b := map[string]any{"Image": "alpine", "Labels": own, "HostConfig": hc}
		if nc != nil {
			b["NetworkingConfig"] = map[string]any{"EndpointsConfig": nc}
		}
		return b
	}
	for _, tc := range []struct {
		name, method, uri string
		body              any
		want              string
		source            string // substring of the last facet's source
		netLookups        int    // GET /networks/... calls made; -1: do not check
	}{
		{"plain run: default network, no lookup", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "default"}, map[string]any{}), "owner-label=self", "", 0},
		{"built-in networks: no lookup", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "none"}, map[string]any{"bridge": map[string]any{}, "none": map[string]any{}}), "owner-label=self", "", 0},
		{"own network", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "anet"}, map[string]any{"anet": map[string]any{}}), "owner-label=self ownership=own", "owned by alice", 1},
		{"bob's network (docker create --network bobnet)", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "bobnet"}, map[string]any{"bobnet": map[string]any{}}), "owner-label=self ownership=other", "HostConfig.NetworkMode: network bobnet", 1},
		{"bob's network by id prefix", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "f2"}, nil), "owner-label=self ownership=other", "owned by bob", 1},
		{"bob's network only as an endpoint", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "none"}, map[string]any{"bobnet": map[string]any{}}), "owner-label=self ownership=other", `EndpointsConfig["bobnet"]`, 1},
		{"network that does not exist", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "ghostnet"}, nil), "owner-label=self ownership=none", "no such network", 1},
		{"host network by id", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "f3"}, nil), "owner-label=self hostns=network", "host network", 1},
		{"none network by id", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "f4"}, nil), "owner-label=self", "", 1},
		{"link to bob's container", "POST", "/v1.41/containers/create", create(map[string]any{"Links": []string{"bobdb:db"}}, nil), "owner-label=self ownership=other", "HostConfig.Links[0]: container bobdb", 0},
		{"link to own container", "POST", "/v1.41/containers/create", create(map[string]any{"Links": []string{"/aweb:/x/web"}}, nil), "owner-label=self ownership=own", "owned by alice", 0},
		{"endpoint link to bob's container", "POST", "/v1.41/containers/create", create(map[string]any{"NetworkMode": "anet"}, map[string]any{"anet": map[string]any{"Links": []string{"bobdb"}}}), "owner-label=self ownership=own ownership=other", "owned by bob", -1},
		{"volumes-from bob's container", "POST", "/v1.41/containers/create", create(map[string]any{"VolumesFrom": []string{"bobdb:ro"}}, nil), "owner-label=self ownership=other", "VolumesFrom[0]", 0},
		{"volumes-from an unowned container", "POST", "/v1.41/containers/create", create(map[string]any{"VolumesFrom": []string{"legacy"}}, nil), "owner-label=self ownership=none", "has no", 0},
		{"malformed link", "POST", "/v1.41/containers/create", create(map[string]any{"Links": []string{"a:b:c"}}, nil), "error", "not a name, id or id prefix", 0},
		{"old start body linking bob's", "POST", "/v1.23/containers/aweb/start", map[string]any{"Links": []string{"bobdb:db"}, "NetworkMode": "bobnet"}, "ownership=own running-containers=1 ownership=other ownership=other", "NetworkMode: network bobnet", 1},
		{"service on bob's network", "POST", "/v1.41/services/create", map[string]any{"TaskTemplate": map[string]any{"ContainerSpec": map[string]any{"Image": "alpine"}, "Networks": []map[string]any{{"Target": "bobnet"}}}}, "ownership=other", "TaskTemplate.Networks[0].Target", 1},
		{"service mounting bob's volume", "POST", "/v1.41/services/" + id64("55") + "/update?version=3", map[string]any{"TaskTemplate": map[string]any{"ContainerSpec": map[string]any{"Image": "alpine", "Mounts": []map[string]any{{"Type": "volume", "Source": "bcache", "Target": "/c"}}}}}, "ownership=other", "owned by bob", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.networkLookups()
			en, err := e.Enrich(context.Background(), alice(), mustNormalize(t, tc.method, tc.uri, tc.body))
			if tc.want == "error" {
				if err == nil || !strings.Contains(err.Error(), tc.source) {
					t.Fatalf("want an error containing %q, got %v (facets %s)", tc.source, err, facetsOf(en.Facets))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := facetsOf(en.Facets); got != tc.want {
				t.Errorf("facets %q, want %q", got, tc.want)
			}
			if tc.source != "" {
				last := en.Facets[len(en.Facets)-1]
				if !strings.Contains(last.Source, tc.source) {
					t.Errorf("source %q lacks %q", last.Source, tc.source)
				}
			}
			if n := f.networkLookups() - before; tc.netLookups >= 0 && n != tc.netLookups {
				t.Errorf("%d network lookups, want %d", n, tc.netLookups)
			}
		})
	}
}

func (f *fakeDocker) networkLookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for p, c := range f.calls {
		if strings.Contains(p, "/networks/") {
			n += c
		}
	}
	return n
}

// TestEnrichNameShadowsIDPrefix: a name that is also a prefix of another
// user's id is redirected to that object as soon as its owner renames or
// removes the named one, which she can do while her request is in flight.
func TestEnrichNameShadowsIDPrefix(t *testing.T) {
	f := newFakeDocker(t)
	bobID := "b0b5ec12ab34" + strings.Repeat("9", 52)
	f.addContainer(bobID, "bobsecret", "bob", true)
	f.addContainer(id64("a1"), "b0b5ec12ab34", "alice", false) // alice's, named after bob's id prefix
	f.addContainer(id64("a2"), "a1", "alice", false)           // named after her own other container's prefix
	f.addContainer(id64("a3"), "cafe", "alice", false)         // hex, prefixes nothing
	f.addContainer(id64("a4"), "b0", "alice", false)           // hex, prefixes bob's and her own b0...
	f.addContainer(id64("b0a"), "x", "alice", false)
	f.addContainer(id64("dd"), "legacy", "", false)
	f.addContainer(id64("a5"), "dd", "alice", false) // prefixes an unowned container
	f.nets[id64("bb1")] = &fakeNetwork{id: id64("bb1"), name: "bobnet", labels: map[string]string{Label: "bob"}}
	f.nets[id64("aa1")] = &fakeNetwork{id: id64("aa1"), name: "bb", labels: map[string]string{Label: "alice"}}
	e := &Enricher{R: newTestResolver(t, f, Config{})}
	for _, tc := range []struct {
		name, method, uri string
		body              any
		want              string
	}{
		{"name that prefixes bob's id", "GET", "/v1.41/containers/b0b5ec12ab34/json", nil, "ownership=own ownership=other"},
		{"stop by that name", "POST", "/v1.41/containers/b0b5ec12ab34/stop", nil, "ownership=own ownership=other"},
		{"short name prefixing bob's and her own", "POST", "/v1.41/containers/b0/stop", nil, "ownership=own ownership=other"},
		{"name prefixing an unowned container", "POST", "/v1.41/containers/dd/stop", nil, "ownership=own ownership=none"},
		{"name prefixing only her own", "POST", "/v1.41/containers/a1/stop", nil, "ownership=own"},
		{"hex name prefixing nothing", "POST", "/v1.41/containers/cafe/stop", nil, "ownership=own"},
		{"her container by its own id prefix", "POST", "/v1.41/containers/a300/stop", nil, "ownership=own"},
		{"her container by full id", "POST", "/v1.41/containers/" + id64("a1") + "/stop", nil, "ownership=own"},
		{"not hex: no list", "POST", "/v1.41/containers/aweb/stop", nil, "ownership=none"},
		{"link by such a name", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}, "HostConfig": map[string]any{"Links": []string{"b0b5ec12ab34:db"}}}, "owner-label=self ownership=own ownership=other"},
		{"network name prefixing bob's network id", "POST", "/v1.41/networks/bb/connect", map[string]any{"Container": "cafe"}, "ownership=own ownership=other ownership=own"},
		{"container create --network by such a name", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": map[string]string{Label: "alice"}, "HostConfig": map[string]any{"NetworkMode": "bb"}}, "owner-label=self ownership=own ownership=other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			en, err := e.Enrich(context.Background(), alice(), mustNormalize(t, tc.method, tc.uri, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := facetsOf(en.Facets); got != tc.want {
				t.Errorf("facets %q, want %q", got, tc.want)
			}
			for _, fc := range en.Facets[1:] {
				if fc.Value == "other" && !strings.Contains(fc.Source, "use the full id") {
					t.Errorf("the shadow facet must say what to do: %q", fc.Source)
				}
			}
		})
	}
	// A list that fails denies (fail closed), naming the way out.
	f.mu.Lock()
	f.failList = true
	f.mu.Unlock()
	_, err := e.Enrich(context.Background(), alice(), mustNormalize(t, "POST", "/v1.41/containers/b0b5ec12ab34/stop", nil))
	if err == nil || !strings.Contains(err.Error(), "use the full id "+id64("a1")) {
		t.Errorf("a failed list must deny with a hint: %v", err)
	}
}

// BenchmarkEnrichUses measures what the reference checks add, with the
// events stream up (lookups cached): a plain create (no lookup), a create
// on a user-defined network and with a link (cached inspects), and a stop
// by a hex-looking name (one uncached list of 100 containers).
func BenchmarkEnrichUses(b *testing.B) {
	f := newFakeDocker(b)
	for i := 0; i < 98; i++ {
		f.addContainer(id64(fmt.Sprintf("%08x", 0x10000000+i)), fmt.Sprintf("c%d", i), "bob", false)
	}
	f.addContainer(id64("a1"), "aweb", "alice", true)
	f.addContainer(id64("a2"), "cafe", "alice", true)
	f.nets[id64("f1")] = &fakeNetwork{id: id64("f1"), name: "anet", labels: map[string]string{Label: "alice"}}
	r, err := New(Config{Host: f.host()})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	r.Start()
	for !r.Live() {
		time.Sleep(time.Millisecond)
	}
	e := &Enricher{R: r}
	lbl := map[string]string{Label: "alice"}
	for _, bc := range []struct {
		name, method, uri string
		body              any
	}{
		{"create plain", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": lbl, "HostConfig": map[string]any{"NetworkMode": "default"}}},
		{"create network and link", "POST", "/v1.41/containers/create", map[string]any{"Image": "alpine", "Labels": lbl, "HostConfig": map[string]any{"NetworkMode": "anet", "Links": []string{"aweb:web"}}}},
		{"stop by hex name", "POST", "/v1.41/containers/cafe/stop", nil},
	} {
		facts := mustNormalize(b, bc.method, bc.uri, bc.body)
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := e.Enrich(context.Background(), alice(), facts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
