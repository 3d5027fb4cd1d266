package request

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/swarm"
)

func FuzzNormalize(f *testing.F) {
	seeds := []struct{ m, u, b string }{
		{"POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"Privileged":true,"Binds":["/:/h:ro,z"]}}`},
		{"POST", "/containers%2Fcreate?name=x", `{"Image":"alpine","privileged":true}`},
		{"POST", "/v1.23/containers/x/start", `{"Binds":["/:/h"],"Privileged":true}`},
		{"POST", "/volumes/create", `{"Name":"v","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}}`},
		{"POST", "/build?t=a&t=b&networkmode=host&remote=git://x", ""},
		{"POST", "/images/create?fromImage=alpine&tag=latest", ""},
		{"POST", "/services/create", `{"TaskTemplate":{"ContainerSpec":{"Image":"a","Mounts":[{"Type":"bind","Source":"/"}]}}}`},
		{"GET", "//v1.41//containers/../containers/json?all=1", ""},
		{"DELETE", "/v1.41/containers/a/b?force=1", ""},
	}
	for _, s := range seeds {
		f.Add(s.m, s.u, []byte(s.b))
	}
	f.Fuzz(func(t *testing.T, method, uri string, body []byte) {
		raw := Raw{Method: method, URI: uri, Headers: map[string]string{"Content-Type": "application/json"}}
		if len(body) > 0 {
			raw.Body = body
		}
		facts, err := Normalize(raw)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		if len(facts.Facets) == 0 || facts.Facets[0].Kind != KindRoute || facts.Facets[0].Value != facts.Route {
			t.Fatalf("first facet is not the route: %v", facts.Facets)
		}
		if facts.Route == RouteUnknown && len(body) > 0 {
			t.Fatalf("unknown route accepted with a body")
		}
		seen := map[Facet]bool{}
		for _, x := range facts.Facets {
			k := Facet{Kind: x.Kind, Value: x.Value}
			if seen[k] {
				t.Fatalf("duplicate facet %v", x)
			}
			seen[k] = true
			if _, ok := LookupKind(x.Kind); !ok {
				t.Fatalf("facet kind %q not in the Catalogue", x.Kind)
			}
			if x.Kind == KindBind && (!strings.HasPrefix(x.Value, "/") || strings.Contains(x.Value, "//") || strings.Contains(x.Value, "/../")) {
				t.Fatalf("bind value not clean: %q", x.Value)
			}
		}
		// Normalising the cleaned path again gives the same route.
		if facts.Route != RouteUnknown {
			again, err := Normalize(Raw{Method: method, URI: facts.Path, Headers: raw.Headers, Body: raw.Body})
			if err == nil && again.Route != facts.Route {
				t.Fatalf("route of cleaned path %q is %q, was %q", facts.Path, again.Route, facts.Route)
			}
		}
	})
}

// FuzzStrictDecode: the strict decoder never panics, and whatever it
// accepts decodes with plain encoding/json (what dockerd uses) to the same
// value.
func FuzzStrictDecode(f *testing.F) {
	f.Add([]byte(`{"Image":"alpine","HostConfig":{"Privileged":true,"CapAdd":"SYS_ADMIN"}}`), uint8(0))
	f.Add([]byte(`{"Image":"a","Volumes":{"/x":{}},"Labels":{"a":"b","a":"c"}}`), uint8(0))
	f.Add([]byte(`{"HostConfig":{"Mounts":[{"Type":"bind","Source":"/","BindOptions":{"Propagation":"rshared"}}]}}`), uint8(0))
	f.Add([]byte(`{"TaskTemplate":{"ContainerSpec":{"Image":"x","Privileges":{"SELinuxContext":{"Disable":true}}}}}`), uint8(1))
	f.Add([]byte(`["a=b","c=d"]`), uint8(2))
	f.Add([]byte(`{"a\u00e9":[1,2,{"b":null}]}`), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		switch which % 4 {
		case 0:
			checkSame[createBody](t, data)
		case 1:
			checkSame[swarm.ServiceSpec](t, data)
		case 2:
			checkSame[[]string](t, data)
		default:
			checkSame[any](t, data)
		}
	})
}

func checkSame[T any](t *testing.T, data []byte) {
	var strict T
	if err := StrictDecode(data, &strict); err != nil {
		if err.Error() == "" {
			t.Fatal("empty error text")
		}
		return
	}
	var plain T
	if err := json.Unmarshal(data, &plain); err != nil {
		t.Fatalf("strict decoder accepted %q but encoding/json fails: %v", data, err)
	}
	if !reflect.DeepEqual(strict, plain) {
		t.Fatalf("strict and encoding/json disagree on %q:\n%#v\n%#v", data, strict, plain)
	}
}

func BenchmarkNormalizeCreate(b *testing.B) {
	body := []byte(readGolden(b, "create-cli-20.10.json"))
	raw := Raw{
		Method:  "POST",
		URI:     "/v1.41/containers/create?name=web",
		Headers: map[string]string{"Content-Type": "application/json", "Content-Length": "1601", "User-Agent": "Docker-Client/20.10.24 (linux)"},
		Body:    body,
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Normalize(raw); err != nil {
			b.Fatal(err)
		}
	}
}
