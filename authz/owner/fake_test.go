package owner

import (
	"encoding/json"

	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// fakeDocker speaks the few Docker API endpoints the resolver uses, over a
// real unix socket, resolving references the way dockerd does: full id,
// then exact name, then unique id prefix (an ambiguous prefix is an error).
type fakeDocker struct {
	t        testing.TB
	sock     string
	srv      *httptest.Server
	mu       sync.Mutex
	ctrs     map[string]*fakeContainer // by id
	execs    map[string]string         // exec id -> container id
	vols     map[string]map[string]string
	nets     map[string]*fakeNetwork
	calls    map[string]int // path -> count
	tokens   map[string]bool
	agents   map[string]bool // User-Agent values seen
	delay    time.Duration
	fail     bool
	failList bool // lists (GET /containers/json, /networks) answer 500
	redirect bool // every request is answered 301 (dockerd never does)

	eventsDelay time.Duration // before /events answers its headers
	eventsFail  bool          // /events answers 500
	evs         chan events.Message
	subs        int             // events streams served (answered 200)
	eventsQuery url.Values      // of the last events request
	listParams  map[string]bool // query parameters of container lists
}

type fakeContainer struct {
	id, name string
	labels   map[string]string
	running  bool
}

type fakeNetwork struct {
	id, name string
	labels   map[string]string
}

func newFakeDocker(t testing.TB) *fakeDocker {
	f := &fakeDocker{t: t, ctrs: map[string]*fakeContainer{}, execs: map[string]string{},
		vols: map[string]map[string]string{}, nets: map[string]*fakeNetwork{},
		calls: map[string]int{}, tokens: map[string]bool{}, agents: map[string]bool{}, evs: make(chan events.Message, 16)}
	f.sock = filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Listener.Close()
	f.srv.Listener = l
	f.srv.Start()
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeDocker) host() string { return "unix://" + f.sock }

func (f *fakeDocker) addContainer(id, name, owner string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	labels := map[string]string{}
	if owner != "" {
		labels[Label] = owner
	}
	f.ctrs[id] = &fakeContainer{id: id, name: "/" + name, labels: labels, running: running}
}

func (f *fakeDocker) removeContainer(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ctrs, id)
}

func (f *fakeDocker) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func (f *fakeDocker) event(typ, action, id string, attrs map[string]string) {
	f.evs <- events.Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs}}
}

func (f *fakeDocker) resolveContainer(ref string) (*fakeContainer, int, string) {
	if c, ok := f.ctrs[ref]; ok {
		return c, 200, ""
	}
	name := ref
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	for _, c := range f.ctrs {
		if c.name == name {
			return c, 200, ""
		}
	}
	var found []*fakeContainer
	for id, c := range f.ctrs {
		if strings.HasPrefix(id, ref) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return nil, 404, "No such container: " + ref
	case 1:
		return found[0], 200, ""
	}
	return nil, 400, "multiple IDs found with provided prefix: " + ref
}

// apiError answers like dockerd's error handler: JSON {"message": m}.
func apiError(w http.ResponseWriter, code int, m string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": m})
}

// sleep waits d unless the request is abandoned first (false).
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func (f *fakeDocker) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls[r.URL.Path]++
	f.tokens[r.Header.Get(TokenHeader)] = true
	f.agents[r.Header.Get("User-Agent")] = true
	delay, fail, redirect := f.delay, f.fail, f.redirect
	eventsDelay, eventsFail := f.eventsDelay, f.eventsFail
	f.mu.Unlock()
	if !sleep(r, delay) {
		return
	}
	if fail {
		apiError(w, 500, "boom")
		return
	}
	if redirect {
		http.Redirect(w, r, "/v"+APIVersion+"/info", http.StatusMovedPermanently)
		return
	}
	if f.listFails(r.URL.Path) {
		apiError(w, 500, "list boom")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v"+APIVersion)
	if p == r.URL.Path {
		apiError(w, 400, "want the versioned API")
		return
	}
	if p == "/events" {
		f.mu.Lock()
		f.eventsQuery = r.URL.Query()
		f.mu.Unlock()
		if !sleep(r, eventsDelay) {
			return
		}
		if eventsFail {
			apiError(w, 500, "events boom")
			return
		}
		f.streamEvents(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	msg := func(code int, m string) { apiError(w, code, m) }
	switch {
	case p == "/containers/json":
		if f.listParams == nil {
			f.listParams = map[string]bool{}
		}
		for k := range r.URL.Query() {
			f.listParams[k] = true
		}
		args, err := filters.FromJSON(r.URL.Query().Get("filters"))
		if err != nil {
			msg(400, err.Error())
			return
		}
		var out []types.Container
		for _, c := range f.ctrs {
			if !c.running && len(args.Get("status")) > 0 {
				continue
			}
			ok := true
			for _, l := range args.Get("label") {
				k, v, _ := strings.Cut(l, "=")
				if c.labels[k] != v {
					ok = false
				}
			}
			if ok {
				out = append(out, types.Container{ID: c.id, Names: []string{c.name}, Labels: c.labels})
			}
		}
		reply(200, out)
	case strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/json"):
		ref := strings.TrimSuffix(strings.TrimPrefix(p, "/containers/"), "/json")
		c, code, m := f.resolveContainer(ref)
		if c == nil {
			msg(code, m)
			return
		}
		reply(200, types.ContainerJSON{
			ContainerJSONBase: &types.ContainerJSONBase{ID: c.id, Name: c.name, State: &types.ContainerState{Running: c.running}},
			Config:            &container.Config{Labels: c.labels},
		})
	case strings.HasPrefix(p, "/exec/") && strings.HasSuffix(p, "/json"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/exec/"), "/json")
		cid, ok := f.execs[id]
		if !ok {
			msg(404, "No such exec instance: "+id)
			return
		}
		reply(200, types.ContainerExecInspect{ExecID: id, ContainerID: cid})
	case strings.HasPrefix(p, "/volumes/"):
		name := strings.TrimPrefix(p, "/volumes/")
		l, ok := f.vols[name]
		if !ok {
			msg(404, "get "+name+": no such volume")
			return
		}
		reply(200, types.Volume{Name: name, Labels: l})
	case p == "/networks":
		var out []types.NetworkResource
		for _, n := range f.nets {
			out = append(out, types.NetworkResource{ID: n.id, Name: n.name, Labels: n.labels})
		}
		reply(200, out)
	case strings.HasPrefix(p, "/networks/"):
		ref := strings.TrimPrefix(p, "/networks/")
		// dockerd's order: full id, then name, then unique id prefix.
		var byName, byPrefix []*fakeNetwork
		for _, n := range f.nets {
			switch {
			case n.id == ref:
				reply(200, types.NetworkResource{ID: n.id, Name: n.name, Labels: n.labels})
				return
			case n.name == ref:
				byName = append(byName, n)
			case strings.HasPrefix(n.id, ref):
				byPrefix = append(byPrefix, n)
			}
		}
		for _, l := range [][]*fakeNetwork{byName, byPrefix} {
			if len(l) == 1 {
				n := l[0]
				reply(200, types.NetworkResource{ID: n.id, Name: n.name, Labels: n.labels})
				return
			}
			if len(l) > 1 {
				msg(400, "network "+ref+" is ambiguous")
				return
			}
		}
		msg(404, "network "+ref+" not found")
	default:
		msg(404, "page not found")
	}
}

func (f *fakeDocker) streamEvents(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case m := <-f.evs:
			if err := enc.Encode(m); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
}

func (f *fakeDocker) listFails(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failList && (strings.HasSuffix(path, "/containers/json") || strings.HasSuffix(path, "/networks"))
}

func (f *fakeDocker) subscriptions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs
}

// id64 makes a 64-hex id from a short distinct prefix.
func id64(prefix string) string {
	return prefix + strings.Repeat("0", 64-len(prefix))
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
