package reload_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/reload"
)

const (
	policyA = "p, alice, *, *, allow\np, alice, bind, *, deny\n"
	policyB = "p, alice, *, *, allow\np, alice, privileged, *, deny\n"
	broken  = "p, alice, *, *, allow\np, alice, privilegd, *, deny\n" // misspelt facet
)

// holder is a Target that records every swap.
type holder struct {
	mu    sync.Mutex
	p     *policy.Policy
	swaps int
}

func (h *holder) Swap(p *policy.Policy) *policy.Policy {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.p
	h.p, h.swaps = p, h.swaps+1
	return old
}

func (h *holder) revision() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.p == nil {
		return ""
	}
	return h.p.Revision
}

type observed struct {
	mu        sync.Mutex
	ok, fails int
	last      string
}

func (o *observed) Reloaded(_ time.Time, ok bool, rev, _ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ok {
		o.ok++
		o.last = rev
	} else {
		o.fails++
	}
}

func write(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace writes like an editor or configuration manager: a temporary file
// renamed over the old one.
func replace(t *testing.T, dir, name, text string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// revisionOf is the revision LoadDir gives a policy text.
func revisionOf(t *testing.T, text string) string {
	t.Helper()
	d := t.TempDir()
	write(t, d, policy.PolicyFile, text)
	p, err := policy.LoadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	return p.Revision
}

func eventually(t *testing.T, what string, ok func() bool) {
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

func start(t *testing.T, dir string, o reload.Options) (*reload.Reloader, *holder, *observed) {
	t.Helper()
	h, obs := &holder{}, &observed{}
	o.Target, o.Dir, o.Observer = h, dir, obs
	r, err := reload.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background(), reload.TriggerStart); err != nil {
		t.Fatalf("initial load: %v", err)
	}
	return r, h, obs
}

func run(t *testing.T, r *reload.Reloader) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestBrokenPolicyKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	r, h, obs := start(t, dir, reload.Options{})
	revA := revisionOf(t, policyA)
	if h.revision() != revA || r.Status().Revision != revA || !r.Status().LastOK {
		t.Fatalf("initial: holder %q status %+v", h.revision(), r.Status())
	}

	write(t, dir, policy.PolicyFile, broken)
	err := r.Reload(context.Background(), reload.TriggerSignal)
	if err == nil || !strings.Contains(err.Error(), `policy.csv:2: unknown facet "privilegd"`) {
		t.Fatalf("broken policy: err = %v", err)
	}
	st := r.Status()
	if h.revision() != revA || st.Revision != revA {
		t.Fatalf("broken policy replaced the last good one: holder %q status %+v", h.revision(), st)
	}
	if st.LastOK || st.LastError != err.Error() || st.Failures != 1 || st.Attempts != 2 || st.LastTrigger != reload.TriggerSignal {
		t.Fatalf("status after a failed reload: %+v", st)
	}
	if obs.fails != 1 || obs.ok != 1 {
		t.Fatalf("observer: %+v", obs)
	}

	write(t, dir, policy.PolicyFile, policyB)
	if err := r.Reload(context.Background(), reload.TriggerSignal); err != nil {
		t.Fatal(err)
	}
	if st := r.Status(); h.revision() != revisionOf(t, policyB) || !st.LastOK || st.LastError != "" || st.Revision != h.revision() {
		t.Fatalf("fixed policy not in force: holder %q status %+v", h.revision(), st)
	}
}

func TestMissingPolicyRejected(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	r, h, _ := start(t, dir, reload.Options{})
	os.Remove(filepath.Join(dir, policy.PolicyFile))
	if err := r.Reload(context.Background(), reload.TriggerSignal); err == nil {
		t.Fatal("a deleted policy was accepted")
	}
	if h.revision() != revisionOf(t, policyA) {
		t.Fatal("a deleted policy replaced the last good one")
	}
}

func TestCasesRejectPolicy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	write(t, dir, reload.CasesFile, "privileged must be allowed\n")
	var checkedDir string
	check := func(_ fs.FS, d string, p *policy.Policy) error {
		checkedDir = d
		// A stand-in for the cases runner: alice's privileged container must be allowed.
		dec := p.Authorize(subject("alice"), facets("privileged=container"))
		if !dec.Allow {
			return errors.New("case 1: alice privileged: want allow, got deny: " + dec.Reason)
		}
		return nil
	}
	r, h, obs := start(t, dir, reload.Options{Check: check})
	if checkedDir != dir {
		t.Fatalf("check got dir %q", checkedDir)
	}
	write(t, dir, policy.PolicyFile, policyB) // valid, but fails its cases
	err := r.Reload(context.Background(), reload.TriggerSignal)
	if err == nil || !strings.Contains(err.Error(), "fails its own test cases") || !strings.Contains(err.Error(), "case 1") {
		t.Fatalf("err = %v", err)
	}
	if h.revision() != revisionOf(t, policyA) || obs.fails != 1 {
		t.Fatalf("a policy failing its cases went into force (holder %q)", h.revision())
	}
}

func TestWatchRejectsBrokenThenPicksUpFixed(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	r, h, _ := start(t, dir, reload.Options{Interval: 5 * time.Millisecond, Settle: 20 * time.Millisecond})
	run(t, r)

	replace(t, dir, policy.PolicyFile, broken)
	eventually(t, "the broken policy to be tried", func() bool { return r.Status().Failures == 1 })
	if h.revision() != revisionOf(t, policyA) {
		t.Fatal("broken policy in force")
	}
	// The same broken content is not tried again and again.
	time.Sleep(100 * time.Millisecond)
	if st := r.Status(); st.Failures != 1 || st.Attempts != 2 {
		t.Fatalf("broken content retried: %+v", st)
	}
	if st := r.Status(); st.LastTrigger != reload.TriggerFiles {
		t.Fatalf("trigger %q", st.LastTrigger)
	}

	write(t, dir, policy.PolicyFile, policyB) // in place
	eventually(t, "the fixed policy", func() bool { return h.revision() == revisionOf(t, policyB) })
	if st := r.Status(); !st.LastOK || st.LastError != "" {
		t.Fatalf("status %+v", st)
	}

	// A model file appearing is a change too.
	write(t, dir, policy.ModelFile, policy.DefaultModel+"\n# site model\n")
	eventually(t, "the model change", func() bool { return h.revision() != revisionOf(t, policyB) })
}

func TestDebounce(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	r, h, _ := start(t, dir, reload.Options{Interval: 5 * time.Millisecond, Settle: 150 * time.Millisecond})
	run(t, r)
	// A burst of writes, each a valid policy, closer together than Settle.
	var last string
	for i := 0; i < 15; i++ {
		last = policyA + "p, bob" + strings.Repeat("x", i) + ", route, *, allow\n"
		write(t, dir, policy.PolicyFile, last)
		time.Sleep(20 * time.Millisecond)
		if n := r.Status().Attempts; n != 1 {
			t.Fatalf("reloaded during a burst of edits (write %d, attempts %d)", i, n)
		}
	}
	eventually(t, "the last write of the burst", func() bool { return h.revision() == revisionOf(t, last) })
	time.Sleep(200 * time.Millisecond)
	if st := r.Status(); st.Attempts != 2 || st.Failures != 0 {
		t.Fatalf("a burst of 15 writes must give exactly one reload: %+v", st)
	}
}

func TestSymlinkSwap(t *testing.T) {
	// The layout of configuration managers and Kubernetes volumes:
	// DIR/policy.csv -> ..data/policy.csv, ..data -> v1, swapped atomically.
	dir := t.TempDir()
	for v, text := range map[string]string{"v1": policyA, "v2": policyB} {
		os.Mkdir(filepath.Join(dir, v), 0o755)
		write(t, filepath.Join(dir, v), policy.PolicyFile, text)
	}
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", policy.PolicyFile), filepath.Join(dir, policy.PolicyFile)); err != nil {
		t.Fatal(err)
	}
	r, h, _ := start(t, dir, reload.Options{Interval: 5 * time.Millisecond, Settle: 20 * time.Millisecond})
	run(t, r)
	if h.revision() != revisionOf(t, policyA) {
		t.Fatal("v1 not loaded")
	}
	if err := os.Symlink("v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the swapped policy", func() bool { return h.revision() == revisionOf(t, policyB) })
}

func TestChangeDuringLoadNotApplied(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, policy.PolicyFile, policyA)
	h := &holder{}
	calls := 0
	r, err := reload.New(reload.Options{Target: h, Dir: dir, Settle: time.Millisecond, Load: func(_ context.Context, files fs.FS) (*policy.Policy, error) {
		calls++
		p, err := policy.LoadFS(files, dir)
		if calls == 1 {
			// An edit lands while the first load runs: what was read is stale.
			write(t, dir, policy.PolicyFile, policyB)
		}
		return p, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(context.Background(), reload.TriggerSignal); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || h.swaps != 1 || h.revision() != revisionOf(t, policyB) {
		t.Fatalf("calls %d swaps %d revision %q: the stale load must not be applied", calls, h.swaps, h.revision())
	}
}

func TestNewNeedsTarget(t *testing.T) {
	if _, err := reload.New(reload.Options{Dir: "/x"}); err == nil {
		t.Fatal("no target accepted")
	}
	if _, err := reload.New(reload.Options{Target: &holder{}}); err == nil {
		t.Fatal("no dir and no loader accepted")
	}
}
