package owner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

func TestDockerHostMustBeAUnixSocket(t *testing.T) {
	for _, tc := range []struct {
		host, wantErr string
	}{
		{"unix:///var/run/docker.sock", ""},
		{"unix:relative/docker.sock", ""},
		{"tcp://127.0.0.1:2376", "only unix:///path/to/docker.sock is supported"},
		{"https://docker:2376", "only unix:///path/to/docker.sock is supported"},
		{"npipe:////./pipe/docker_engine", "only unix:///path/to/docker.sock is supported"},
		{"/var/run/docker.sock", "only unix:///path/to/docker.sock is supported"},
		{"unix://", "no socket path"},
		{"unix:", "no socket path"},
		{"unix://%zz", "invalid URL escape"},
		{"unix:///" + strings.Repeat("x", 200), "too long"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			r, err := New(Config{Host: tc.host})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				r.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "--docker-host") {
				t.Fatalf("want an error naming --docker-host with %q, got %v", tc.wantErr, err)
			}
		})
	}
}

// Every request the resolver makes, the events subscription included, is
// on the pinned API version and carries the lookup token and User-Agent;
// there is no version negotiation (no /_ping).
func TestEveryRequestCarriesTokenAgentAndVersion(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "web", "alice", true)
	f.execs[id64("e1")] = id64("c1")
	f.vols["v"] = map[string]string{Label: "alice"}
	f.nets[id64("n1")] = &fakeNetwork{id: id64("n1"), name: "net", labels: map[string]string{Label: "alice"}}
	r := newTestResolver(t, f, Config{})
	ctx := context.Background()
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	for _, lookup := range []func() error{
		func() error { _, err := r.Container(ctx, "web"); return err },
		func() error { _, err := r.Exec(ctx, id64("e1")); return err },
		func() error { _, err := r.Volume(ctx, "v"); return err },
		func() error { _, err := r.Network(ctx, "net"); return err },
		func() error { _, err := r.Running(ctx, "alice"); return err },
		func() error { _, err := r.Prefixed(ctx, "container", "c"); return err },
		func() error { _, err := r.Prefixed(ctx, "network", "n"); return err },
	} {
		if err := lookup(); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for path := range f.calls {
		if !strings.HasPrefix(path, "/v"+APIVersion+"/") {
			t.Errorf("unversioned request %s", path)
		}
	}
	for _, path := range []string{"/v1.41/events", "/v1.41/containers/json", "/v1.41/networks", "/v1.41/exec/" + id64("e1") + "/json"} {
		if f.calls[path] == 0 {
			t.Errorf("no request to %s", path)
		}
	}
	if f.calls["/_ping"]+f.calls["/v1.41/_ping"] != 0 {
		t.Error("the API version is pinned: no negotiation ping")
	}
	if len(f.tokens) != 1 || !f.tokens[r.Token()] {
		t.Errorf("every request must carry the lookup token; saw %d distinct values", len(f.tokens))
	}
	if len(f.agents) != 1 || !f.agents[userAgent] {
		t.Errorf("every request must carry User-Agent %q; saw %v", userAgent, f.agents)
	}
	if len(f.listParams) != 2 || !f.listParams["all"] || !f.listParams["filters"] {
		t.Errorf("container lists sent %v; want all and filters only (no limit)", f.listParams)
	}
	q := f.eventsQuery
	if !regexp.MustCompile(`^[0-9]+\.[0-9]{9}$`).MatchString(q.Get("since")) || len(q) != 2 {
		t.Errorf("events query %v: want since=<seconds>.<nanoseconds> and filters only", q)
	}
	if args, err := filters.FromJSON(q.Get("filters")); err != nil || args.Len() != 1 ||
		!args.ExactMatch("type", "container") || !args.ExactMatch("type", "volume") || !args.ExactMatch("type", "network") || len(args.Get("type")) != 3 {
		t.Errorf("events filters %q: want type=container,volume,network", q.Get("filters"))
	}
}

func TestBoundedBody(t *testing.T) {
	const max = 64
	for _, tc := range []struct {
		name    string
		n       int
		wrap    func(io.Reader) io.Reader
		tooLong bool
	}{
		{"empty", 0, nil, false},
		{"short", 10, nil, false},
		{"exactly the bound", max, nil, false},
		{"one byte over", max + 1, nil, true},
		{"far over", 10 * max, nil, true},
		{"exactly, byte by byte", max, iotest.OneByteReader, false},
		{"over, byte by byte", max + 1, iotest.OneByteReader, true},
		{"exactly, data with EOF", max, iotest.DataErrReader, false},
		{"over, data with EOF", max + 1, iotest.DataErrReader, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte{'x'}, tc.n)
			var src io.Reader = bytes.NewReader(data)
			if tc.wrap != nil {
				src = tc.wrap(src)
			}
			b := &boundedBody{rc: io.NopCloser(src), left: max, max: max, what: "GET /v1.41/containers/json"}
			got, err := io.ReadAll(b)
			var tl *errAnswerTooLarge
			if tc.tooLong {
				if !errors.As(err, &tl) || len(got) > max {
					t.Fatalf("read %d bytes, err %v; want errAnswerTooLarge after at most %d", len(got), err, max)
				}
				if !strings.Contains(err.Error(), "GET /v1.41/containers/json") {
					t.Errorf("the error must name the request: %v", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, err %v; want all %d", len(got), err, tc.n)
			}
		})
	}
	if err := iotest.TestReader(&boundedBody{rc: io.NopCloser(strings.NewReader("hello")), left: 5, max: 5}, []byte("hello")); err != nil {
		t.Error(err)
	}
}

// FuzzBoundedBody: an answer of at most max bytes is read whole and
// unchanged; a longer one fails with errAnswerTooLarge, never more than
// max bytes delivered, whatever the read sizes.
func FuzzBoundedBody(f *testing.F) {
	f.Add([]byte("{}"), uint16(2), uint8(1))
	f.Add([]byte("{\"a\":1}"), uint16(3), uint8(0))
	f.Add([]byte(""), uint16(0), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, max uint16, chunk uint8) {
		var src io.Reader = bytes.NewReader(data)
		if chunk%2 == 1 {
			src = iotest.OneByteReader(src)
		}
		b := &boundedBody{rc: io.NopCloser(src), left: int64(max), max: int64(max)}
		buf := make([]byte, int(chunk)+1)
		var got []byte
		var err error
		for {
			var n int
			n, err = b.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		var tl *errAnswerTooLarge
		if len(data) <= int(max) {
			if err != io.EOF || !bytes.Equal(got, data) {
				t.Fatalf("len %d max %d: got %d bytes, %v", len(data), max, len(got), err)
			}
			return
		}
		if !errors.As(err, &tl) || len(got) > int(max) || !bytes.Equal(got, data[:len(got)]) {
			t.Fatalf("len %d max %d: got %d bytes, %v; want errAnswerTooLarge", len(data), max, len(got), err)
		}
	})
}

// An answer longer than the bound fails the lookup (fail closed, with the
// reason); the events stream is not bounded.
func TestAnswersAreBoundedButNotTheEventsStream(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "small", "alice", true)
	f.addContainer(id64("c2"), "big", "alice", true)
	f.mu.Lock()
	f.ctrs[id64("c2")].labels["pad"] = strings.Repeat("x", 8<<10)
	f.mu.Unlock()
	r := newTestResolver(t, f, Config{})
	r.cli.tr.max = 4 << 10 // before any request
	ctx := context.Background()

	if o, err := r.Container(ctx, "small"); err != nil || o.Owner != "alice" {
		t.Fatalf("an answer under the bound: %+v %v", o, err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"inspect", func() error { _, err := r.Container(ctx, "big"); return err }, "answer to GET /v1.41/containers/big/json is longer than 4096 bytes"},
		{"list", func() error { _, err := r.Prefixed(ctx, "container", "c"); return err }, "answer to GET /v1.41/containers/json is longer than 4096 bytes"},
		{"running", func() error { _, err := r.Running(ctx, "alice"); return err }, "answer to GET /v1.41/containers/json is longer than 4096 bytes"},
	} {
		err := tc.call()
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want %q, got %v", tc.name, tc.want, err)
		}
	}

	// The stream carries far more than the bound over its life.
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	if _, err := r.Container(ctx, "small"); err != nil {
		t.Fatal(err)
	}
	pad := map[string]string{"pad": strings.Repeat("y", 1<<10)}
	for i := 0; i < 32; i++ {
		f.event("container", "start", id64("c1"), pad) // decoded, ignored
	}
	f.event("container", "destroy", id64("c1"), map[string]string{"name": "small"})
	waitUntil(t, "invalidation", func() bool { return r.Invalidations.Load() >= 1 })
	if n := f.subscriptions(); n != 1 || !r.Live() {
		t.Errorf("the events stream must not be bounded: %d subscriptions, live %v", n, r.Live())
	}
}

func TestRedirectsAreRefused(t *testing.T) {
	f := newFakeDocker(t)
	f.addContainer(id64("c1"), "web", "alice", true)
	r := newTestResolver(t, f, Config{})
	f.mu.Lock()
	f.redirect = true
	f.mu.Unlock()
	_, err := r.Container(context.Background(), "web")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "HTTP 301") {
		t.Fatalf("a redirect must fail the lookup: %v", err)
	}
	if n := f.count("/v1.41/info"); n != 0 {
		t.Errorf("the redirect was followed (%d requests)", n)
	}
}

// The subscription is "connected" only when dockerd answered the events
// request: an error answer or no answer within the timeout leaves the
// cache off and is retried; once dockerd answers, the cache is on.
func TestEventsConnectSignal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(f *fakeDocker)
	}{
		{"error answer", func(f *fakeDocker) { f.eventsFail = true }},
		{"no answer in time", func(f *fakeDocker) { f.eventsDelay = time.Hour }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDocker(t)
			f.addContainer(id64("c1"), "web", "alice", true)
			f.mu.Lock()
			tc.fault(f)
			f.mu.Unlock()
			log, hook := logtest.NewNullLogger()
			log.SetLevel(logrus.InfoLevel)
			r := newTestResolver(t, f, Config{Timeout: 50 * time.Millisecond, Log: log})
			r.Start()
			waitUntil(t, "retries", func() bool { return f.count("/v1.41/events") >= 3 })
			if r.Live() || f.subscriptions() != 0 {
				t.Fatal("live without an events stream")
			}
			for _, e := range hook.AllEntries() {
				if !strings.Contains(e.Message, "events subscription failed") {
					t.Errorf("a subscription that never connected logged %q", e.Message)
				}
			}
			ctx := context.Background()
			for i := 0; i < 2; i++ {
				if _, err := r.Container(ctx, "web"); err != nil {
					t.Fatal(err)
				}
			}
			if n := f.count("/v1.41/containers/web/json"); n != 2 || r.Hits.Load() != 0 {
				t.Errorf("the cache must be off while the stream is down: %d lookups, %d hits", n, r.Hits.Load())
			}
			f.mu.Lock()
			f.eventsFail, f.eventsDelay = false, 0
			f.mu.Unlock()
			waitUntil(t, "events subscription", r.Live)
			if m := hook.LastEntry().Message; !strings.Contains(m, "subscribed to dockerd events") {
				t.Errorf("last log %q", m)
			}
		})
	}
}

func TestEventsConnectError(t *testing.T) {
	ready := func(err error) chan error {
		c := make(chan error, 1)
		c <- err
		return c
	}
	late := make(chan error) // the error comes after Events returned (client.Events closes started first)
	go func() { late <- errors.New("Error response from daemon: events boom") }()
	closed := make(chan error)
	close(closed)
	for _, tc := range []struct {
		name     string
		answered bool
		errs     chan error
		want     string // "" = connected
	}{
		{"answered: connected", true, make(chan error, 1), ""},
		{"answered, stream error later: connected", true, ready(errors.New("unexpected EOF")), ""},
		{"error ready", false, ready(errors.New("dial unix: no such file")), "no such file"},
		{"error sent after Events returned", false, late, "events boom"},
		{"closed", false, closed, "without an answer"},
	} {
		err := eventsConnectError(tc.answered, tc.errs)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCloseEndsTheSubscription(t *testing.T) {
	f := newFakeDocker(t)
	r, err := New(Config{Host: f.host()})
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	waitUntil(t, "events subscription", r.Live)
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if r.Live() {
		t.Error("live after Close")
	}
	r.Close() // idempotent
}
