package policy

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/docker-authz/docker-authz/authz/request"
)

// The verdict cache is invisible: a decision taken from a warm cache is the
// one taken from Casbin directly, and the cache key tells apart questions
// that a joined-string key ("principal\x00kind\x00value") would have mixed up.

func TestCachedDecisionSameAsCold(t *testing.T) {
	subs := [][]string{{"alice", "developers"}, {"bob"}, {"carol", "ci"}, {"dave", "contractors", "developers"}, {"eve", "admins"}}
	sets := [][]request.Facet{
		facets("route", "container:create", "image", "docker.io/library/alpine:latest", "user", "", "cap-drop", "none",
			"no-new-privileges", "false", "memory", "0", "cpus", "0", "pids-limit", "0"),
		facets("route", "container:create", "image", "docker.io/library/alpine:latest", "user", "1000", "cap-drop", "all",
			"no-new-privileges", "true", "memory", "1073741824", "cpus", "1000000000", "pids-limit", "100"),
		facets("route", "image:push", "image", "registry.internal.example/x:1"),
		facets("route", "container:create", "bind", "/srv/alice/data", "privileged", "container"),
		facets("route", "system:ping"),
	}
	for _, s := range subs {
		for _, fs := range sets {
			cold := mustPolicy(t, testPolicy) // fresh cache for every question
			want := cold.Authorize(subj(s[0], append([]string(nil), s[1:]...)...), fs)
			warm := mustPolicy(t, testPolicy)
			for i := 0; i < 3; i++ { // the second and third answers come from the cache
				got := warm.Authorize(subj(s[0], append([]string(nil), s[1:]...)...), fs)
				got.Revision, want.Revision = "", ""
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%v %v round %d:\n got  %+v\n want %+v", s, fs, i, got, want)
				}
			}
		}
	}
}

func TestCacheKeyDoesNotCollide(t *testing.T) {
	var c decisionCache
	c.init(16)
	c.put(cacheKey{"a\x00b", "c", "d"}, verdict{allow: true, rule: "r1"})
	for _, k := range []cacheKey{{"a", "b\x00c", "d"}, {"a", "b", "c\x00d"}, {"a\x00b\x00c", "", "d"}} {
		if v, ok := c.get(k); ok {
			t.Fatalf("%q found %+v stored under another question", k, v)
		}
	}
	if v, ok := c.get(cacheKey{"a\x00b", "c", "d"}); !ok || !v.allow || v.rule != "r1" {
		t.Fatalf("stored verdict not found: %+v %v", v, ok)
	}
}

// The cache keeps its own copies of the strings it is asked about.
func TestCacheKeepsCopies(t *testing.T) {
	p := mustPolicy(t, testPolicy)
	big := "docker.io/library/alpine:latest" + string(make([]byte, 1<<16))
	value := big[:len("docker.io/library/alpine:latest")]
	p.ask("group:developers", request.Facet{Kind: "image", Value: value})
	p.cache.mu.RLock()
	defer p.cache.mu.RUnlock()
	found := false
	for k := range p.cache.m {
		if k.value == value {
			found = true
			if stringData(k.value) == stringData(value) {
				t.Fatal("the cache key shares the request's string")
			}
		}
	}
	if !found {
		t.Fatal("the verdict was not cached")
	}
}

func stringData(s string) *byte { return unsafe.StringData(s) }
