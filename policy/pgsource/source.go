package pgsource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/policy"
)

// Config configures a Source.
type Config struct {
	URL          string        // postgres://USER[:PASSWORD]@HOST:PORT/DB?sslmode=...
	Snapshot     string        // local snapshot file; "" disables snapshots (and the start fallback)
	PollInterval time.Duration // how often the change counter is read as a safety net (default 5s)
	LoadTimeout  time.Duration // bound on one load (default 10s)
	MaxBackoff   time.Duration // longest wait between reconnection attempts (default 5s)
	Log          logrus.FieldLogger
}

// Source is a policy.Source backed by PostgreSQL, with live updates,
// a local snapshot and outage handling. Create it with New.
type Source struct {
	cfg   Config
	store *Store
	log   logrus.FieldLogger
	kick  chan struct{}

	mu         sync.Mutex
	st         policy.SourceStatus
	storeRev   int64
	failedRev  int64 // revision whose policy was invalid (not retried until it changes)
	connErr    bool  // st.LastError is a connection error (cleared on reconnection)
	onChange   func(*policy.Policy)
	reloadLock sync.Mutex
}

var _ policy.Source = (*Source)(nil)
var _ policy.StatusReporter = (*Source)(nil)

// New prepares a Source; it does not connect yet.
func New(cfg Config) (*Source, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.LoadTimeout <= 0 {
		cfg.LoadTimeout = 10 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetOutput(os.Stderr)
		cfg.Log = l
	}
	st, err := Open(cfg.URL)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, store: st, log: cfg.Log.WithField("policy", st.String()), kick: make(chan struct{}, 1), failedRev: -1}
	s.st = policy.SourceStatus{Backend: "postgres", Location: st.String(), Snapshot: cfg.Snapshot}
	return s, nil
}

// String is the database URL without password.
func (s *Source) String() string { return s.store.String() }

// Store is the database behind the source.
func (s *Source) Store() *Store { return s.store }

// Close releases the database connections.
func (s *Source) Close() error { return s.store.Close() }

// Status reports the state of the source (safe for concurrent use).
func (s *Source) Status() policy.SourceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Load reads the policy from the database (policy.Source). On success the
// status is updated and the snapshot written; the caller installs the
// policy.
func (s *Source) Load(ctx context.Context) (*policy.Policy, error) {
	p, _, err := s.load(ctx)
	return p, err
}

func (s *Source) load(ctx context.Context) (*policy.Policy, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LoadTimeout)
	defer cancel()
	now := time.Now()
	p, rev, err := s.store.Load(ctx)
	s.mu.Lock()
	s.st.LastAttempt = now
	if rev > 0 { // also on an invalid policy: rev is the revision holding it
		s.st.LatestStoreRevision = rev
	}
	if err != nil {
		var de *DBError
		s.st.LastError, s.connErr = err.Error(), errors.As(err, &de)
		s.mu.Unlock()
		return nil, rev, err
	}
	s.st.LastError, s.connErr = "", false
	s.mu.Unlock()
	if s.cfg.Snapshot != "" {
		if err := WriteSnapshot(s.cfg.Snapshot, Snapshot{Policy: p, Source: s.String(), StoreRevision: rev, Saved: now}); err != nil {
			// The policy is good; only the fallback for the next start is
			// stale. Say so loudly, keep going.
			s.log.WithError(err).Error("policy loaded but the local snapshot could not be written; a restart during a database outage would use an older snapshot or refuse to start")
		}
	}
	return p, rev, nil
}

// installed records p (from the database at rev, or from the snapshot) as
// the policy in force.
func (s *Source) installed(p *policy.Policy, rev int64, fromSnapshot bool, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storeRev = rev
	s.st.Revision = p.Revision
	s.st.StoreRevision = rev
	s.st.LastLoad = at
	s.st.FromSnapshot = fromSnapshot
}

// Start loads the first policy: from the database, or, when that fails
// (unreachable, or an invalid policy in it), from the snapshot, with a
// warning. Without a usable snapshot it returns an error that says what to
// do.
func (s *Source) Start(ctx context.Context) (*policy.Policy, error) {
	p, rev, err := s.load(ctx)
	if err == nil {
		s.installed(p, rev, false, time.Now())
		s.setConnected(true)
		return p, nil
	}
	if s.cfg.Snapshot == "" {
		return nil, fmt.Errorf("%v; no --policy-snapshot is configured to fall back on", err)
	}
	snap, serr := ReadSnapshot(s.cfg.Snapshot)
	if serr != nil {
		if errors.Is(serr, os.ErrNotExist) {
			return nil, fmt.Errorf("%v; and there is no local snapshot at %s (one is written after every successful load): refusing to start without a policy — make the database reachable, or start with --policy DIR", err, s.cfg.Snapshot)
		}
		return nil, fmt.Errorf("%v; and the local snapshot cannot be used: %v", err, serr)
	}
	if !sameDatabase(snap.Source, s.String()) {
		return nil, fmt.Errorf("%v; and the local snapshot %s is of another database (%s): refusing to start with it", err, s.cfg.Snapshot, snap.Source)
	}
	s.log.WithError(err).WithFields(logrus.Fields{
		"snapshot": s.cfg.Snapshot, "revision": snap.Policy.Revision, "store_revision": snap.StoreRevision, "saved": snap.Saved,
	}).Warn("policy database not usable at start: serving the local snapshot of the last good policy until it is")
	s.installed(snap.Policy, snap.StoreRevision, true, snap.Saved)
	return snap.Policy, nil
}

// sameDatabase compares host, port and database name of two redacted URLs.
func sameDatabase(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return ua.Host == ub.Host && ua.Path == ub.Path
}

// setConnected records the listener state; a reconnection clears a
// connection error (not an invalid policy, which stays until it is fixed).
func (s *Source) setConnected(c bool) {
	s.mu.Lock()
	s.st.Connected = c
	if c && s.connErr {
		s.st.LastError, s.connErr = "", false
	}
	s.mu.Unlock()
}

// setError records a connection failure.
func (s *Source) setError(err error) {
	s.mu.Lock()
	s.st.LastError, s.connErr = err.Error(), true
	s.st.LastAttempt = time.Now()
	s.mu.Unlock()
}

// Reload reads the database again now (SIGHUP) and installs the result
// through Run's install function; before Run it only ends a reconnection
// wait. It does not block.
func (s *Source) Reload() {
	s.mu.Lock()
	install := s.onChange
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	if install != nil {
		go s.reload(context.Background(), install, true)
	}
}

// Run keeps the policy current until ctx ends: it LISTENs for change
// notifications, polls the change counter every PollInterval, reconnects
// with backoff, and calls install with every new valid policy. A policy
// that fails validation is logged and skipped: the last good one stays.
func (s *Source) Run(ctx context.Context, install func(*policy.Policy)) {
	s.mu.Lock()
	s.onChange = install
	s.mu.Unlock()
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listen(ctx, install, func() { backoff = 200 * time.Millisecond })
		s.setConnected(false)
		if ctx.Err() != nil {
			return
		}
		s.setError(err)
		s.log.WithError(err).WithField("retry_in", backoff.String()).Warn("policy database unreachable: the last good policy stays in force")
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		case <-s.kick:
		}
		backoff *= 2
		if backoff > s.cfg.MaxBackoff {
			backoff = s.cfg.MaxBackoff
		}
	}
}

// listen holds one LISTEN connection until it fails or ctx ends.
func (s *Source) listen(ctx context.Context, install func(*policy.Policy), connected func()) error {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.LoadTimeout)
	conn, err := pgx.Connect(cctx, s.store.url)
	cancel()
	if err != nil {
		return s.store.wrap("connect to", err)
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(c)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return s.store.wrap("listen on", err)
	}
	s.setConnected(true)
	connected()
	// Whatever changed while we were away (or since Start) is read now.
	if err := s.check(ctx, conn, install); err != nil {
		return err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, s.cfg.PollInterval)
		n, err := conn.WaitForNotification(wctx)
		timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err == nil:
			if rev, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil && (rev <= s.currentRev() || rev <= s.failedRevision()) {
				continue // already have it, or already know it is invalid (several statements of one change)
			}
			s.reload(ctx, install, false)
		case timedOut:
			if err := s.check(ctx, conn, install); err != nil {
				return err
			}
		default:
			return s.store.wrap("wait for policy changes on", err)
		}
	}
}

func (s *Source) failedRevision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failedRev
}

func (s *Source) currentRev() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.FromSnapshot {
		return -1
	}
	return s.storeRev
}

// check reads the change counter on the listening connection (also a
// liveness probe) and reloads when it moved. An error means the connection
// is gone.
func (s *Source) check(ctx context.Context, conn *pgx.Conn, install func(*policy.Policy)) error {
	qctx, cancel := context.WithTimeout(ctx, s.cfg.LoadTimeout)
	defer cancel()
	var rev int64
	if err := conn.QueryRow(qctx, "SELECT revision FROM "+MetaTable+" WHERE id = 1").Scan(&rev); err != nil {
		if conn.PgConn().IsClosed() || ctx.Err() != nil {
			return s.store.wrap("poll", err)
		}
		err = s.store.wrap("poll", s.store.explainMissing(err))
		s.setError(err)
		s.log.WithError(err).Error("cannot read the policy revision; the last good policy stays in force")
		return nil
	}
	s.mu.Lock()
	s.st.LatestStoreRevision = rev
	current := rev == s.storeRev && !s.st.FromSnapshot
	failed := rev == s.failedRev
	s.mu.Unlock()
	if !current && !failed {
		s.reload(ctx, install, false)
	}
	return nil
}

// reload loads, validates and installs; on failure the last good policy
// stays and the reason is logged and kept in the status.
func (s *Source) reload(ctx context.Context, install func(*policy.Policy), always bool) {
	s.reloadLock.Lock()
	defer s.reloadLock.Unlock()
	p, rev, err := s.load(ctx)
	if err != nil {
		var de *DBError
		if !errors.As(err, &de) {
			// The database answered with a policy that does not validate:
			// do not try that revision again until it changes.
			s.mu.Lock()
			s.failedRev = rev
			s.mu.Unlock()
		}
		s.log.WithError(err).Error("policy reload from the database failed; the previous policy stays in force")
		return
	}
	s.mu.Lock()
	prev := s.st.Revision
	unchanged := p.Revision == prev && !s.st.FromSnapshot
	s.failedRev = -1
	s.mu.Unlock()
	s.installed(p, rev, false, time.Now())
	if unchanged && !always {
		return
	}
	install(p)
	s.log.WithFields(logrus.Fields{"revision": p.Revision, "previous": prev, "store_revision": rev, "rules": len(p.Rules)}).Info("policy reloaded from the database")
}
