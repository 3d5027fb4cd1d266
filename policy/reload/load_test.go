package reload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/reload"
)

// trail keeps the request records in memory.
type trail struct {
	mu   sync.Mutex
	recs map[string]audit.Record // by URI (unique per request)
}

func (t *trail) Write(_ context.Context, r *audit.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.Stage == audit.StageRequest {
		t.recs[r.URI] = *r
	}
	return nil
}

// TestReloadUnderLoad drives a concurrent request stream through the real
// plugin server over its unix socket while the policy flips between A and B
// (in place, by rename and by SIGHUP-style reloads) and broken policies are
// dropped in: no request may fail, and every decision must be the decision
// of exactly the policy revision its audit record names (A or B, never a
// broken or half-loaded one).
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	revA, revB := revisionOf(t, policyA), revisionOf(t, policyB)
	// Allowed by A and B respectively; mixing them would allow or deny both.
	want := map[string]map[string]bool{
		revA: {"privileged": true, "bind": false, "plain": true},
		revB: {"privileged": false, "bind": true, "plain": true},
	}
	// The cases stand-in: a policy that denies alice's plain containers
	// fails its cases (it validates, but must never go into force).
	check := func(_ fs.FS, _ string, p *policy.Policy) error {
		if !p.Authorize(subject("alice"), facets("route=container:create", "image=docker.io/library/alpine:latest")).Allow {
			return fmt.Errorf("case: alice plain create: want allow")
		}
		return nil
	}
	failsCases := "p, alice, bind, *, deny\n"

	holder := authz.NewPolicyHolder(nil)
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	r, err := reload.New(reload.Options{Target: holder, Dir: dir, Check: check, Interval: 2 * time.Millisecond, Settle: 10 * time.Millisecond, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background(), reload.TriggerStart); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { r.Run(ctx); close(watched) }()
	defer func() { cancel(); <-watched }()

	ver, err := identity.NewVerifier(identity.Config{LocalUser: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trail{recs: map[string]audit.Record{}}
	srv := authz.NewServer(authz.Config{Identity: ver, Policy: holder, Audit: tr})
	sock := filepath.Join(t.TempDir(), "p.sock")
	l, err := authz.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		srv.Shutdown(sctx)
		<-served
	}()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		MaxIdleConnsPerHost: 16,
	}}

	bodies := map[string]string{
		"privileged": `{"Image":"alpine","HostConfig":{"Privileged":true}}`,
		"bind":       `{"Image":"alpine","HostConfig":{"Binds":["/srv:/srv"]}}`,
		"plain":      `{"Image":"alpine"}`,
	}
	kinds := []string{"privileged", "bind", "plain"}

	// The policy changer: A and B in place and by rename, a broken policy,
	// one that fails its cases, and SIGHUP-style reloads in between.
	stop := make(chan struct{})
	changerDone := make(chan struct{})
	go func() {
		defer close(changerDone)
		rng := rand.New(rand.NewSource(1))
		steps := []func(){
			func() { write(t, dir, policy.PolicyFile, policyB) },
			func() { replace(t, dir, policy.PolicyFile, broken) },
			func() { replace(t, dir, policy.PolicyFile, policyA) },
			func() { write(t, dir, policy.PolicyFile, failsCases) },
			func() { replace(t, dir, policy.PolicyFile, policyB) },
			func() { _ = r.Reload(context.Background(), reload.TriggerSignal) },
			func() { write(t, dir, policy.PolicyFile, policyA) },
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			steps[i%len(steps)]()
			time.Sleep(time.Duration(15+rng.Intn(30)) * time.Millisecond)
		}
	}()

	type answer struct {
		kind  string
		allow bool
	}
	var (
		mu      sync.Mutex
		answers = map[string]answer{} // by URI
		n       atomic.Int64
		wg      sync.WaitGroup
	)
	// Run until the load has seen enough reloads (accepted and rejected)
	// and requests, not for a fixed time: on a loaded CI machine (race
	// detector, other tests) a fixed window may hold only a few reloads.
	enough := make(chan struct{})
	go func() {
		defer close(enough)
		limit := time.Now().Add(60 * time.Second)
		for time.Now().Before(limit) {
			st := r.Status()
			if st.Attempts >= 12 && st.Failures >= 3 && n.Load() >= 300 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	running := func() bool {
		select {
		case <-enough:
			return false
		default:
			return true
		}
	}
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; running(); i++ {
				kind := kinds[(c+i)%len(kinds)]
				uri := fmt.Sprintf("/v1.41/containers/create?name=c%d-%d", c, i)
				msg, _ := json.Marshal(map[string]any{
					"RequestMethod": "POST", "RequestUri": uri,
					"RequestHeaders": map[string]string{"Content-Type": "application/json"},
					"RequestBody":    []byte(bodies[kind]),
				})
				res, err := client.Post("http://plugin/AuthZPlugin.AuthZReq", "application/json", bytes.NewReader(msg))
				if err != nil {
					t.Errorf("request failed: %v", err)
					return
				}
				var out struct {
					Allow    bool
					Msg, Err string
				}
				err = json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				if err != nil || res.StatusCode != http.StatusOK {
					t.Errorf("request %s: status %d, decode %v", uri, res.StatusCode, err)
					return
				}
				mu.Lock()
				answers[uri] = answer{kind, out.Allow}
				mu.Unlock()
				n.Add(1)
			}
		}(c)
	}
	wg.Wait()
	close(stop)
	<-changerDone

	seen := map[string]int{}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.recs) != len(answers) {
		t.Errorf("%d answers but %d audit records", len(answers), len(tr.recs))
	}
	for uri, a := range answers {
		rec, ok := tr.recs[uri]
		if !ok {
			t.Errorf("%s: no audit record", uri)
			continue
		}
		exp, ok := want[rec.PolicyRevision]
		if !ok {
			t.Errorf("%s decided by revision %q (reason %q): neither A (%s) nor B (%s)", uri, rec.PolicyRevision, rec.Reason, revA, revB)
			continue
		}
		seen[rec.PolicyRevision]++
		if a.allow != exp[a.kind] || (rec.Decision == audit.Allow) != a.allow {
			t.Errorf("%s (%s) under revision %s: answered allow=%v, record %s, policy says allow=%v", uri, a.kind, rec.PolicyRevision, a.allow, rec.Decision, exp[a.kind])
		}
	}
	st := r.Status()
	t.Logf("%d requests; decided by A: %d, by B: %d; reload attempts %d, rejected %d", n.Load(), seen[revA], seen[revB], st.Attempts, st.Failures)
	if seen[revA] == 0 || seen[revB] == 0 {
		t.Errorf("the policy did not change under load (A %d, B %d)", seen[revA], seen[revB])
	}
	if st.Failures == 0 || st.Attempts < 4 {
		t.Errorf("broken policies were not tried: %+v", st)
	}
	if n.Load() < 100 {
		t.Errorf("only %d requests: not a load", n.Load())
	}
}
