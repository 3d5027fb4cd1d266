package request

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestURINormalisation(t *testing.T) {
	type c struct {
		method, uri string
		route       string
		vars        map[string]string
		version     string
		err         string
	}
	cases := []c{
		{"POST", "/v1.41/containers/create", "container:create", nil, "1.41", ""},
		{"POST", "/containers/create", "container:create", nil, "", ""},
		{"POST", "/v1.12/containers/create", "container:create", nil, "1.12", ""},
		{"POST", "/containers%2Fcreate", "container:create", nil, "", ""},
		{"POST", "/v1.41%2Fcontainers%2Fcreate", "container:create", nil, "1.41", ""},
		{"POST", "/%63ontainers/create", "container:create", nil, "", ""},
		{"POST", "//containers//create", "container:create", nil, "", ""},
		{"POST", "/v1.41//containers/./create", "container:create", nil, "1.41", ""},
		{"POST", "/images/../containers/create", "container:create", nil, "", ""},
		{"POST", "/../../containers/create", "container:create", nil, "", ""},
		{"POST", "http://evil/v1.41/containers/create", "container:create", nil, "1.41", ""},
		{"POST", "/containers/create/", RouteUnknown, nil, "", ""},
		{"POST", "/CONTAINERS/create", RouteUnknown, nil, "", ""},
		{"post", "/containers/create", RouteUnknown, nil, "", ""},
		{"GET", "/containers/json", "container:list", nil, "", ""},
		{"GET", "/containers/web/json", "container:inspect", map[string]string{"name": "web"}, "", ""},
		{"GET", "/containers/a%2Fb/json", "container:inspect", map[string]string{"name": "a/b"}, "", ""},
		{"POST", "/containers/a/start/start", "container:start", map[string]string{"name": "a/start"}, "", ""},
		{"POST", "/containers/a%0Ab/start", RouteUnknown, nil, "", ""},
		{"DELETE", "/containers/a/b", "container:delete", map[string]string{"name": "a/b"}, "", ""},
		{"DELETE", "/containers/x/checkpoints/y", "checkpoint:delete", map[string]string{"name": "x", "checkpoint": "y"}, "", ""},
		{"HEAD", "/_ping", "system:ping", nil, "", ""},
		{"GET", "/v1.41/_ping", "system:ping", nil, "1.41", ""},
		{"OPTIONS", "/v1.41/anything/at/all", "system:options", map[string]string{"anyroute": "anything/at/all"}, "1.41", ""},
		{"GET", "/networks/", "network:list", nil, "", ""},
		{"GET", "/networks/a/b", "network:inspect", map[string]string{"id": "a/b"}, "", ""},
		{"GET", "/services/x/y", RouteUnknown, nil, "", ""},
		{"POST", "/exec/abc/start", "exec:start", map[string]string{"name": "abc"}, "", ""},
		{"GET", "/debug/vars", "debug:vars", nil, "", ""},
		{"PUT", "/debug/pprof/heap", "debug:pprof", map[string]string{"name": "heap"}, "", ""},
		{"GET", "/v1.41/debug/vars", RouteUnknown, nil, "1.41", ""},
		{"GET", "/v1.41", RouteUnknown, nil, "", ""},
		{"GET", "/vfoo/containers/json", RouteUnknown, nil, "", ""},
		{"GET", "/v1..41/containers/json", "", nil, "", "not of the form 1.N"},
		{"GET", "/v1.41.0/containers/json", "", nil, "", "not of the form 1.N"},
		{"GET", "/v1.041/containers/json", "", nil, "", "not of the form 1.N"},
		{"GET", "/v1/containers/json", "", nil, "", "not of the form 1.N"},
		{"GET", "/v9.99/containers/json", "", nil, "", "not of the form 1.N"},
		{"GET", "/v1.42/containers/json", "", nil, "", "outside"},
		{"GET", "/v1.11/containers/json", "", nil, "", "outside"},
		{"GET", "/v./containers/json", "", nil, "", "not of the form"},
		{"GET", "/containers/json?filters=%zz", "", nil, "", "query"},
		{"GET", "containers/json", "", nil, "", "does not parse"},
		{"GET", "", "", nil, "", "empty request URI"},
		{"", "/_ping", "", nil, "", "no method"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.uri, func(t *testing.T) {
			raw := Raw{Method: tc.method, URI: tc.uri}
			if tc.route == "container:create" || tc.route == "exec:start" {
				raw.Body = []byte(`{}`)
				raw.Headers = map[string]string{"Content-Type": "application/json"}
			}
			f, err := Normalize(raw)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want error %q, got %v (facts %+v)", tc.err, err, f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Route != tc.route {
				t.Fatalf("route %q, want %q (path %q)", f.Route, tc.route, f.Path)
			}
			if tc.vars != nil && !reflect.DeepEqual(f.Vars, tc.vars) {
				t.Fatalf("vars %v, want %v", f.Vars, tc.vars)
			}
			if f.APIVersion != tc.version {
				t.Fatalf("version %q, want %q", f.APIVersion, tc.version)
			}
		})
	}
}

func TestQueryRepeatedKeys(t *testing.T) {
	f, err := Normalize(Raw{Method: "POST", URI: "/build?t=a&t=b:1&t=a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Query["t"]; !reflect.DeepEqual(got, []string{"a", "b:1", "a"}) {
		t.Fatalf("query t = %v", got)
	}
	want := []string{"route=image:build", "build=context", "image=docker.io/library/a:latest", "image=docker.io/library/b:1"}
	if got := facetStrings(f); !reflect.DeepEqual(got, want) {
		t.Fatalf("facets %v, want %v", got, want)
	}
}

// TestRouteTableMatchesDockerd re-reads the initRoutes() of every dockerd
// 20.10 router from the module cache and checks that the table has exactly
// the same routes in the same order.
func TestRouteTableMatchesDockerd(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/docker/docker").Output()
	if err != nil {
		t.Skipf("cannot locate the docker module: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	order := []string{"checkpoint", "container", "image", "system", "volume", "build", "session", "swarm", "plugin", "distribution", "grpc", "network"}
	re := regexp.MustCompile(`router\.New(Get|Post|Put|Delete|Head|Options)Route\("([^"]+)"`)
	var want []string
	for _, r := range order {
		files, _ := filepath.Glob(filepath.Join(dir, "api/server/router", r, "*.go"))
		for _, fn := range files {
			if strings.HasSuffix(fn, "_test.go") {
				continue
			}
			b, err := os.ReadFile(fn)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				want = append(want, strings.ToUpper(m[1])+" "+m[2])
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("no routes found under %s", dir)
	}
	var got []string
	for _, r := range routeTable {
		if r.Unversed {
			continue
		}
		got = append(got, r.Method+" "+r.Path)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("route table differs from dockerd's routers\n got: %v\nwant: %v", got, want)
	}
	t.Logf("%d API routes (+%d debug routes)", len(got), len(routeTable)-len(got))
}

func TestEveryRouteIsReachable(t *testing.T) {
	for i, r := range routeTable {
		p := regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(r.Path, "x")
		m := r.Method
		if m == "" {
			m = "GET"
		}
		got, _ := lookupRoute(m, p, false)
		if got == nil {
			t.Errorf("%s %s: no route for %s", r.Method, r.Path, p)
			continue
		}
		// An earlier route may shadow this one only if dockerd would too;
		// the only such case is GET /images/get vs GET /images/{name}/get (not shadowing).
		if got.Name != r.Name && got != &routeTable[i] {
			t.Errorf("%s %s: path %s matched %s first", r.Method, r.Path, p, got.Path)
		}
	}
}

func TestCatalogueCoversKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Catalogue {
		if k.Kind == "" || k.Phrase == "" || k.Where == "" {
			t.Errorf("incomplete catalogue entry %+v", k)
		}
		if seen[k.Kind] {
			t.Errorf("duplicate kind %s", k.Kind)
		}
		seen[k.Kind] = true
	}
	for kind := range escalationKinds {
		if !seen[kind] {
			t.Errorf("kind %s missing from Catalogue", kind)
		}
	}
}
