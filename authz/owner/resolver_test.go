package owner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestResolver(t *testing.T, f *fakeDocker, cfg Config) *Resolver {
	t.Helper()
	cfg.Host = f.host()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestResolveContainerLikeDockerd(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("abc1"), "web", "alice", true)
	f.addContainer(id64("abc2"), "db", "bob", false)
	f.addContainer(id64("dd"), "legacy", "", false)
	f.addContainer(id64("ee"), "abc1", "bob", false) // a name that is also a prefix of another id
	r := newTestResolver(t, f, Config{})
	ctx := context.Background()

	for _, tc := range []struct {
		ref, wantID, wantOwner, wantErr string
		notFound                        bool
	}{
		{ref: "web", wantID: id64("abc1"), wantOwner: "alice"},
		{ref: "/web", wantID: id64("abc1"), wantOwner: "alice"},
		{ref: id64("abc2"), wantID: id64("abc2"), wantOwner: "bob"},
		{ref: "abc2", wantID: id64("abc2"), wantOwner: "bob"},          // unique prefix
		{ref: "abc1", wantID: id64("ee"), wantOwner: "bob"},            // exact name wins over a prefix
		{ref: "legacy", wantID: id64("dd"), wantOwner: ""},             // created before the plugin
		{ref: "abc", wantErr: "multiple IDs found"},                    // ambiguous prefix
		{ref: "nope", notFound: true},                                  // no such container
		{ref: "../../info", wantErr: "is not a name, id or id prefix"}, // never sent to dockerd
		{ref: "a?b", wantErr: "is not a name, id or id prefix"},
	} {
		o, err := r.Container(ctx, tc.ref)
		switch {
		case tc.notFound:
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: want ErrNotFound, got %v", tc.ref, err)
			}
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: want error %q, got %v (%+v)", tc.ref, tc.wantErr, err, o)
			}
		default:
			if err != nil || o.ID != tc.wantID || o.Owner != tc.wantOwner {
				t.Errorf("%s: got %+v, %v; want id %s owner %q", tc.ref, o, err, tc.wantID[:6], tc.wantOwner)
			}
		}
	}
	if f.count("/v1.41/containers/../../info/json") != 0 {
		t.Error("an invalid reference reached dockerd")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) != 1 || !f.tokens[r.Token()] || len(r.Token()) != 64 {
		t.Errorf("every lookup must carry the resolver's token; saw %v", f.tokens)
	}
}

func TestResolveExecVolumeNetwork(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "build", "alice", true)
	f.execs[id64("e1")] = id64("c1")
	f.vols["cache"] = map[string]string{Label: "bob"}
	f.vols["anon"] = nil
	f.nets[id64("n1")] = &fakeNetwork{id: id64("n1"), name: "alicenet", labels: map[string]string{Label: "alice"}}
	r := newTestResolver(t, f, Config{})
	ctx := context.Background()

	if o, err := r.Exec(ctx, id64("e1")); err != nil || o.ID != id64("c1") || o.Owner != "alice" {
		t.Errorf("exec: %+v %v", o, err)
	}
	if _, err := r.Exec(ctx, id64("e9")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown exec: %v", err)
	}
	// The container id in dockerd's answer goes into a path: checked too.
	f.mu.Lock()
	f.execs[id64("e2")] = "../../info"
	f.mu.Unlock()
	if _, err := r.Exec(ctx, id64("e2")); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "is not a name, id or id prefix") {
		t.Errorf("exec of a malformed container id: %v", err)
	}
	if n := f.count("/v1.41/info"); n != 0 {
		t.Errorf("a malformed container id reached dockerd as a path (%d)", n)
	}
	if o, err := r.Volume(ctx, "cache"); err != nil || o.Owner != "bob" {
		t.Errorf("volume: %+v %v", o, err)
	}
	if o, err := r.Volume(ctx, "anon"); err != nil || o.Owner != "" {
		t.Errorf("unlabelled volume: %+v %v", o, err)
	}
	if o, err := r.Network(ctx, "alicenet"); err != nil || o.ID != id64("n1") || o.Owner != "alice" {
		t.Errorf("network: %+v %v", o, err)
	}
}

func TestCacheUsedOnlyWhileEventsAreLive(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "web", "alice", true)
	r := newTestResolver(t, f, Config{})
	ctx := context.Background()
	path := "/v1.41/containers/web/json"

	// Not started: no events, so every lookup asks dockerd.
	for i := 0; i < 3; i++ {
		if _, err := r.Container(ctx, "web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(path); n != 3 {
		t.Fatalf("without events every lookup must ask dockerd: %d calls, want 3", n)
	}
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	for i := 0; i < 3; i++ {
		if _, err := r.Container(ctx, "web"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count(path); n != 4 {
		t.Fatalf("with events live one lookup must fill the cache: %d calls, want 4", n)
	}
	if r.Hits.Load() != 2 {
		t.Errorf("hits = %d, want 2", r.Hits.Load())
	}
}

func TestEventsInvalidateRecreatedName(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "web", "alice", true)
	r := newTestResolver(t, f, Config{})
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	ctx := context.Background()

	if o, _ := r.Container(ctx, "web"); o.Owner != "alice" {
		t.Fatalf("owner %q", o.Owner)
	}
	if o, _ := r.Container(ctx, "c1"); o.Owner != "alice" { // a prefix, cached too
		t.Fatalf("owner %q", o.Owner)
	}
	// alice's web is removed, bob creates a new web.
	f.removeContainer(id64("c1"))
	f.addContainer(id64("c2"), "web", "bob", false)
	f.event("container", "destroy", id64("c1"), map[string]string{"name": "web"})
	f.event("container", "create", id64("c2"), map[string]string{"name": "web"})
	waitUntil(t, "invalidation", func() bool { return r.Invalidations.Load() >= 2 })
	o, err := r.Container(ctx, "web")
	if err != nil || o.Owner != "bob" || o.ID != id64("c2") {
		t.Fatalf("after recreate: %+v %v; want bob's c2", o, err)
	}
	if _, err := r.Container(ctx, "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the removed container's prefix must not be served from the cache: %v", err)
	}
}

func TestEventsCreateTakesOverCachedPrefixAndRename(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("abc"), "one", "alice", true)
	r := newTestResolver(t, f, Config{})
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	ctx := context.Background()
	if o, _ := r.Container(ctx, "ab"); o.Owner != "alice" {
		t.Fatal("prefix")
	}
	// bob creates a container NAMED "ab": dockerd now resolves "ab" to it.
	f.addContainer(id64("ff"), "ab", "bob", false)
	f.event("container", "create", id64("ff"), map[string]string{"name": "ab"})
	waitUntil(t, "invalidation", func() bool { return r.Invalidations.Load() >= 1 })
	if o, _ := r.Container(ctx, "ab"); o.Owner != "bob" {
		t.Fatalf("a name created after a cached prefix must win: owner %q", o.Owner)
	}
	// rename: alice's "one" becomes "two"; "one" must not stay cached.
	if o, _ := r.Container(ctx, "one"); o.Owner != "alice" {
		t.Fatal("one")
	}
	f.mu.Lock()
	f.ctrs[id64("abc")].name = "/two"
	f.mu.Unlock()
	f.event("container", "rename", id64("abc"), map[string]string{"name": "two", "oldName": "/one"})
	waitUntil(t, "invalidation", func() bool { return r.Invalidations.Load() >= 2 })
	if _, err := r.Container(ctx, "one"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("renamed-away name still resolves: %v", err)
	}
}

func TestEventsStreamLossFlushesAndReconnects(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "web", "alice", true)
	r := newTestResolver(t, f, Config{})
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	ctx := context.Background()
	_, _ = r.Container(ctx, "web")
	if r.cache.len() != 1 {
		t.Fatal("not cached")
	}
	f.srv.CloseClientConnections() // dockerd restarts, the stream breaks
	waitUntil(t, "resubscription", func() bool { return f.subscriptions() >= 2 && r.Live() })
	if r.cache.len() != 0 {
		t.Error("a lost events stream must flush the cache")
	}
}

func TestLookupFailuresAndTimeouts(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "web", "alice", true)
	r := newTestResolver(t, f, Config{Timeout: 100 * time.Millisecond})
	ctx := context.Background()

	f.mu.Lock()
	f.delay = time.Second
	f.mu.Unlock()
	start := time.Now()
	_, err := r.Container(ctx, "web")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Errorf("lookup took %v; the timeout is 100ms", d)
	}
	if _, err := r.Running(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("running count: want a timeout, got %v", err)
	}

	f.mu.Lock()
	f.delay, f.fail = 0, true
	f.mu.Unlock()
	if _, err := r.Container(ctx, "web"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("a dockerd error must be an error, not not-found: %v", err)
	}

	dead, err := New(Config{Host: "unix://" + t.TempDir() + "/none.sock", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if _, err := dead.Container(ctx, "web"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("unreachable dockerd: %v", err)
	}
	if _, err := New(Config{Host: "tcp://127.0.0.1:2376"}); err == nil {
		t.Error("tcp hosts are not supported and must be refused")
	}
}

func TestRunningCountsOnlyTheUsersRunningContainers(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("a1"), "a1", "alice", true)
	f.addContainer(id64("a2"), "a2", "alice", true)
	f.addContainer(id64("a3"), "a3", "alice", false)
	f.addContainer(id64("b1"), "b1", "bob", true)
	r := newTestResolver(t, f, Config{})
	ids, err := r.Running(context.Background(), "alice")
	if err != nil || len(ids) != 2 {
		t.Fatalf("running(alice) = %v, %v; want 2", ids, err)
	}
}

func TestCacheIsBoundedLRU(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCache(2, time.Minute, func() time.Time { return now })
	g := c.generation()
	c.put("container", "a", Object{ID: "1"}, g)
	c.put("container", "b", Object{ID: "2"}, g)
	c.get("container", "a") // a is now most recent
	c.put("container", "c", Object{ID: "3"}, g)
	if _, ok := c.get("container", "b"); ok {
		t.Error("the least recently used entry must go")
	}
	if _, ok := c.get("container", "a"); !ok {
		t.Error("a was used recently")
	}
	now = now.Add(2 * time.Minute)
	if _, ok := c.get("container", "a"); ok {
		t.Error("entries expire after the TTL")
	}
	g = c.generation()
	c.flush()
	c.put("container", "d", Object{ID: "4"}, g) // lookup raced a flush
	if c.len() != 0 {
		t.Error("a lookup that started before a flush must not be stored")
	}
}
