package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/pgsource"
)

// policySourceFlags are serve's options for a policy kept in PostgreSQL
// (--policy postgres://...).
type policySourceFlags struct {
	snapshot string
	poll     time.Duration
}

func (f *policySourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.snapshot, "policy-snapshot", pgsource.DefaultSnapshot, "with --policy postgres://...: local copy of the last good policy, written after every load and served when the database cannot be reached at start (\"\" disables it: no start without the database)")
	fs.DurationVar(&f.poll, "policy-poll", 5*time.Second, "with --policy postgres://...: how often the policy revision is polled, in case a change notification was missed")
}

// dbPolicy is a running database policy source; nil for a directory. Its
// methods do nothing on nil.
type dbPolicy struct {
	src    *pgsource.Source
	cancel context.CancelFunc
	done   chan struct{}
	log    logrus.FieldLogger
}

// open loads the first policy from location: a directory, or a postgres://
// URL (then from its snapshot when the database cannot be used).
func (f *policySourceFlags) open(location string, log logrus.FieldLogger) (*policy.Policy, *dbPolicy, error) {
	if !pgsource.IsURL(location) {
		p, err := policy.LoadDir(location)
		return p, nil, err
	}
	src, err := pgsource.New(pgsource.Config{URL: location, Snapshot: f.snapshot, PollInterval: f.poll, Log: log})
	if err != nil {
		return nil, nil, err
	}
	p, err := src.Start(context.Background())
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	return p, &dbPolicy{src: src, log: log}, nil
}

// watch keeps h up to date with the database until stop.
func (d *dbPolicy) watch(h *authz.PolicyHolder) {
	if d == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		d.src.Run(ctx, func(p *policy.Policy) { h.Swap(p) })
	}()
}

// reload reads the database now (SIGHUP).
func (d *dbPolicy) reload() {
	if d != nil {
		d.src.Reload()
	}
}

// status is the state of the database source (for status and metrics).
func (d *dbPolicy) status() (policy.SourceStatus, bool) {
	if d == nil {
		return policy.SourceStatus{}, false
	}
	return d.src.Status(), true
}

func (d *dbPolicy) stop() {
	if d == nil {
		return
	}
	if d.cancel != nil {
		d.cancel()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
		}
	}
	d.src.Close()
}

// policyLocation is a --policy value fit for logs: a database URL loses its
// password.
func policyLocation(s string) string {
	if pgsource.IsURL(s) {
		return pgsource.Redact(s)
	}
	return s
}

// loadPolicy loads a policy once from a directory or a database (check,
// explain, policy diff/export). Nothing is written.
func loadPolicy(location string) (*policy.Policy, error) {
	if !pgsource.IsURL(location) {
		return policy.LoadDir(location)
	}
	st, err := pgsource.Open(location)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, _, err := st.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	return p, nil
}

// checkCasesFrom is check's --cases: where the test cases of a database
// policy are (a directory policy keeps them in DIR/cases.yaml).
var checkCasesFrom string

// checkCasesDir is the directory whose cases.yaml check runs.
func checkCasesDir(location string) string {
	if pgsource.IsURL(location) {
		if checkCasesFrom == "" {
			return "(no --cases directory)"
		}
		return checkCasesFrom
	}
	return location
}

// cleanPolicyLocation cleans a directory path; a database URL is kept as
// it is (filepath.Clean would fold its "//").
func cleanPolicyLocation(location string) string {
	if pgsource.IsURL(location) {
		return location
	}
	return filepath.Clean(location)
}
