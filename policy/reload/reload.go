package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/policy"
)

// Triggers name why a reload ran (in logs and Status).
const (
	TriggerStart  = "start"
	TriggerSignal = "SIGHUP"
	TriggerFiles  = "file change"
)

// CasesFile is the policy's own test cases, part of what is watched.
const CasesFile = policy.CasesFile

// Target receives a new policy; authz.PolicyHolder is one.
type Target interface {
	Swap(*policy.Policy) *policy.Policy
}

// Observer is told about every load attempt (metrics).
type Observer interface {
	Reloaded(at time.Time, ok bool, revision, source string)
}

// CheckFunc runs a policy's own test cases against a loaded policy; a
// non-nil error rejects the policy. fsys holds the very file contents the
// policy was loaded from (the same reading of Dir); dir is Options.Dir, for
// messages. policy.CheckCasesFS is one.
type CheckFunc func(fsys fs.FS, dir string, p *policy.Policy) error

// Options configure a Reloader.
type Options struct {
	Target Target // required
	// Dir is the policy directory: read once per attempt, and that one
	// reading is hashed, loaded (policy.LoadFS, unless Load is set) and
	// handed to Check; watched by Run.
	Dir string
	// Source names where the policy comes from in logs and Status (default
	// Dir).
	Source string
	// Load loads the policy from files, the reading of Dir (empty without a
	// Dir); default policy.LoadFS(files, Dir).
	Load func(ctx context.Context, files fs.FS) (*policy.Policy, error)
	// Check runs the policy's test cases; nil runs none.
	Check CheckFunc
	// Files are the names in Dir whose content makes the policy (default
	// policy.csv, model.conf, cases.yaml).
	Files []string
	// Interval is how often Run polls the files (default 1s); Settle is how
	// long they must stay unchanged before a reload (default Interval).
	Interval, Settle time.Duration
	Log              logrus.FieldLogger
	Observer         Observer
}

// Status is the state of the policy in force and of the last attempt.
type Status struct {
	Source      string    `json:"source"`
	Revision    string    `json:"revision"`               // policy in force ("" before the first success)
	Loaded      time.Time `json:"loaded,omitempty"`       // when the policy in force was loaded
	LastAttempt time.Time `json:"last_attempt,omitempty"` // last load attempt, successful or not
	LastTrigger string    `json:"last_trigger,omitempty"` // start, SIGHUP, file change
	LastOK      bool      `json:"last_ok"`                // the last attempt succeeded
	LastError   string    `json:"last_error,omitempty"`   // why it failed; the previous policy stayed in force
	Attempts    uint64    `json:"attempts"`
	Failures    uint64    `json:"failures"`
}

// Reloader loads policies into a Target. Create it with New.
type Reloader struct {
	o Options

	mu      sync.Mutex // serialises reloads and guards the fields below
	st      Status
	tried   string // digest of the files at the last settled attempt
	current *policy.Policy

	readHook func(name string) // tests: called before each file is read
}

// ErrChanged means the files changed while the policy was being loaded; it
// was not applied.
var ErrChanged = errors.New("the policy files changed while they were being loaded; nothing was applied, the settled files will be loaded")

// New returns a Reloader. It loads nothing: call Reload(ctx, TriggerStart).
func New(o Options) (*Reloader, error) {
	if o.Target == nil {
		return nil, errors.New("reload: no target")
	}
	if o.Load == nil && o.Dir == "" {
		return nil, errors.New("reload: neither a policy directory nor a loader")
	}
	if o.Source == "" {
		o.Source = o.Dir
	}
	if len(o.Files) == 0 {
		o.Files = []string{policy.PolicyFile, policy.ModelFile, CasesFile}
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Settle <= 0 {
		o.Settle = o.Interval
	}
	if o.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		o.Log = l
	}
	return &Reloader{o: o, st: Status{Source: o.Source}}, nil
}

// Status returns a copy of the current status.
func (r *Reloader) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// Policy returns the policy this Reloader put in force last (nil before the
// first success).
func (r *Reloader) Policy() *policy.Policy {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Reload loads, checks and installs the policy now. On error the policy in
// force is unchanged. When the files change during the load it tries again
// (three times at most), so a reload never applies a mix of two edits.
func (r *Reloader) Reload(ctx context.Context, trigger string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for i := 0; i < 3; i++ {
		if err = r.attempt(ctx, trigger); !errors.Is(err, ErrChanged) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(r.o.Settle):
		}
	}
	return r.fail(trigger, err, "")
}

// attempt is one load; r.mu is held. ErrChanged is returned without
// recording an attempt.
//
// The files are read once: that reading is what is hashed, loaded and
// checked, so the policy put in force is always the one the recorded digest
// names. (Comparing digests taken before and after a load that read the
// files itself missed an edit undone during the load, A→B→A: B in force,
// the digest A, and Run seeing no reason to load again.) A second reading
// after the load only detects an edit in progress, so that a half-written
// set of files is retried after Settle instead of applied.
func (r *Reloader) attempt(ctx context.Context, trigger string) error {
	files := r.read()
	var p *policy.Policy
	var err error
	if r.o.Load != nil {
		p, err = r.o.Load(ctx, files)
	} else {
		p, err = policy.LoadFS(files, r.o.Dir)
	}
	if err == nil && p == nil {
		err = errors.New("the loader returned no policy")
	}
	if err == nil && r.o.Check != nil {
		if cerr := r.o.Check(files, r.o.Dir, p); cerr != nil {
			err = fmt.Errorf("the policy fails its own test cases (%s): %w", filepath.Join(r.o.Dir, CasesFile), cerr)
		}
	}
	if r.digest() != files.digest {
		return ErrChanged
	}
	before := files.digest
	if err != nil {
		return r.fail(trigger, err, before)
	}
	now := time.Now()
	prev := r.o.Target.Swap(p)
	r.current = p
	r.tried = before
	r.st.Attempts++
	r.st.Revision, r.st.Loaded = p.Revision, now
	r.st.LastAttempt, r.st.LastTrigger, r.st.LastOK, r.st.LastError = now, trigger, true, ""
	f := logrus.Fields{"revision": p.Revision, "source": r.o.Source, "trigger": trigger}
	if prev != nil {
		f["previous"] = prev.Revision
	}
	msg := "policy loaded"
	if prev != nil && prev.Revision == p.Revision {
		msg = "policy reloaded, unchanged"
	} else if prev != nil {
		msg = "policy reloaded"
	}
	r.o.Log.WithFields(f).Info(msg)
	if r.o.Observer != nil {
		r.o.Observer.Reloaded(now, true, p.Revision, r.o.Source)
	}
	return nil
}

// fail records a rejected policy; r.mu is held.
func (r *Reloader) fail(trigger string, err error, digest string) error {
	now := time.Now()
	if digest != "" {
		r.tried = digest
	}
	r.st.Attempts++
	r.st.Failures++
	r.st.LastAttempt, r.st.LastTrigger, r.st.LastOK, r.st.LastError = now, trigger, false, err.Error()
	f := logrus.Fields{"source": r.o.Source, "trigger": trigger}
	if r.current != nil {
		f["in_force"] = r.current.Revision
		r.o.Log.WithError(err).WithFields(f).Error("policy rejected; the previous policy stays in force (fix the files, or `docker-authz check " + r.o.Dir + "`)")
	} else {
		r.o.Log.WithError(err).WithFields(f).Error("policy rejected; no policy is in force, every request is denied")
	}
	if r.o.Observer != nil {
		r.o.Observer.Reloaded(now, false, "", r.o.Source)
	}
	return err
}

// Run polls the policy files until ctx ends and reloads when they changed
// and settled. It does nothing without a Dir.
func (r *Reloader) Run(ctx context.Context) {
	if r.o.Dir == "" {
		return
	}
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	seen := r.digest()
	changed := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d := r.digest()
		if d != seen {
			seen, changed = d, time.Now()
			continue
		}
		if time.Since(changed) < r.o.Settle {
			continue
		}
		r.mu.Lock()
		tried := r.tried
		r.mu.Unlock()
		if d == tried {
			continue
		}
		// The error is logged, observed and in Status.
		_ = r.Reload(ctx, TriggerFiles)
	}
}

// digest is the digest of a fresh reading of the policy files.
func (r *Reloader) digest() string { return r.read().digest }

// read reads the policy files once (following symlinks). A missing or
// unreadable file is part of the reading and of its digest, so its
// appearance or disappearance is a change. Without a Dir the reading is
// empty and its digest "".
func (r *Reloader) read() *snapshot {
	s := &snapshot{files: map[string][]byte{}, errs: map[string]error{}}
	if r.o.Dir == "" {
		return s
	}
	h := sha256.New()
	for _, name := range r.o.Files {
		if r.readHook != nil {
			r.readHook(name)
		}
		h.Write([]byte(name))
		h.Write([]byte{0})
		b, err := os.ReadFile(filepath.Join(r.o.Dir, name))
		switch {
		case err == nil:
			s.files[name] = b
			fmt.Fprintf(h, "%d\x00", len(b))
			h.Write(b)
		case errors.Is(err, fs.ErrNotExist):
			s.errs[name] = fs.ErrNotExist
			h.Write([]byte("absent\x00"))
		default:
			s.errs[name] = err
			fmt.Fprintf(h, "error %v\x00", err)
		}
	}
	s.digest = hex.EncodeToString(h.Sum(nil))
	return s
}
