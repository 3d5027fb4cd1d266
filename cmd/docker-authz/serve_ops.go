package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/metrics"
	"github.com/docker-authz/docker-authz/policy"
	"github.com/docker-authz/docker-authz/policy/reload"
)

// The operations side of serve: policy reload (SIGHUP and file changes),
// the admin socket for `docker-authz status` and /ready, and the optional
// Prometheus listener.

// defaultPluginDir is where dockerd looks for plugin sockets.
const defaultPluginDir = "/run/docker/plugins"

// defaultAdminDir holds admin sockets of plugins in defaultPluginDir (the
// unit's RuntimeDirectory): never in dockerd's plugin directory, where
// dockerd would take any socket for a plugin.
const defaultAdminDir = "/run/docker-authz"

// policyCases runs a policy directory's own test cases (DIR/cases.yaml) at
// start and on every reload; a policy failing them never goes into force.
var policyCases reload.CheckFunc = policy.CheckCasesFS

// opsOptions are the serve flags of this file.
type opsOptions struct {
	adminSocket string
	metricsAddr string
	watch       time.Duration
}

func (o *opsOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.adminSocket, "admin-socket", "auto", "unix socket (0600) for docker-authz status and GET /ready; auto: "+defaultAdminDir+"/NAME.sock for a plugin socket in "+defaultPluginDir+", else NAME.admin.sock next to the plugin socket; off: none")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this TCP address at /metrics (and readiness at /ready), e.g. 127.0.0.1:9323; empty: off")
	fs.DurationVar(&o.watch, "watch-interval", time.Second, "how often the policy files are checked for changes (a change is loaded once the files are unchanged for as long again); 0: reload on SIGHUP only")
}

// adminSocketFor derives the admin socket of a plugin socket, so that
// `status --socket` finds what `serve --socket` made.
func adminSocketFor(pluginSocket string) string {
	name := strings.TrimSuffix(filepath.Base(pluginSocket), ".sock")
	dir := filepath.Dir(pluginSocket)
	if dir == defaultPluginDir || dir == "/var"+defaultPluginDir {
		return filepath.Join(defaultAdminDir, name+".sock")
	}
	return filepath.Join(dir, name+".admin.sock")
}

// resolveAdminSocket turns the flag value into a path ("" when off).
func resolveAdminSocket(flagValue, pluginSocket string) string {
	switch flagValue {
	case "off", "none", "":
		return ""
	case "auto":
		return adminSocketFor(pluginSocket)
	}
	return flagValue
}

// ops runs next to the plugin server. Create it with newOps.
type ops struct {
	opt       opsOptions
	log       *logrus.Logger
	started   time.Time
	policyDir string
	holder    *authz.PolicyHolder
	reloader  *reload.Reloader // nil for a database policy
	pdb       *dbPolicy        // nil for a policy directory
	metrics   *metrics.Metrics // nil without --metrics-addr
	obs       *opsObserver

	srv        *authz.Server
	trail      *audit.Log
	plugin     string
	socket     string
	admin      string
	serving    atomic.Bool
	stopping   atomic.Bool
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	httpServes []*http.Server
	listeners  []string // admin socket paths to remove
}

// newOps puts the first policy in force. A policy directory is loaded by
// the reloader (validated, and checked against its own test cases), which
// then watches it; serve refuses to start when that fails. A database
// policy (pdb, already loaded into pol) keeps its own watch; ops only
// reports its state.
func newOps(o serveOptions, pol *policy.Policy, pdb *dbPolicy, log *logrus.Logger) (*ops, error) {
	x := &ops{opt: o.ops, log: log, started: time.Now(), policyDir: o.policyDir, holder: authz.NewPolicyHolder(nil), pdb: pdb}
	if o.ops.metricsAddr != "" {
		x.metrics = metrics.New()
	}
	x.obs = &opsObserver{next: x.metrics}
	if pdb != nil {
		x.holder.Swap(pol)
		if x.metrics != nil {
			x.metrics.WatchPolicyDatabase(func() policy.SourceStatus { st, _ := pdb.status(); return st })
		}
		return x, nil
	}
	var robs reload.Observer
	if x.metrics != nil {
		robs = x.metrics
	}
	r, err := reload.New(reload.Options{Target: x.holder, Dir: o.policyDir, Check: policyCases, Interval: o.ops.watch, Log: log, Observer: robs})
	if err != nil {
		return nil, err
	}
	x.reloader = r
	if err := r.Reload(context.Background(), reload.TriggerStart); err != nil {
		return nil, err
	}
	return x, nil
}

// policyStatus is the state of the policy source, directory or database.
func (x *ops) policyStatus() reload.Status {
	if x.reloader != nil {
		return x.reloader.Status()
	}
	st, ok := x.pdb.status()
	if !ok {
		return reload.Status{}
	}
	return reload.Status{
		Source: st.Location, Revision: st.Revision, Loaded: st.LastLoad, LastAttempt: st.LastAttempt,
		LastOK: st.LastError == "", LastError: st.LastError,
	}
}

// followDB reports a database source's loads to the metrics (the database
// source reloads by itself).
func (x *ops) followDB(ctx context.Context) {
	var last time.Time
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		st := x.policyStatus()
		if !st.LastAttempt.Equal(last) && !st.LastAttempt.IsZero() {
			last = st.LastAttempt
			x.metrics.Reloaded(st.LastAttempt, st.LastOK, st.Revision, st.Source)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observer is what the plugin server reports to.
func (x *ops) observer() authz.Observer { return x.obs }

// start runs the admin socket, the metrics listener and the file watch.
// An explicit --admin-socket or --metrics-addr that cannot be served stops
// serve; the automatic admin socket only warns (the plugin works without it).
func (x *ops) start(srv *authz.Server, trail *audit.Log, plugin, socket string) error {
	x.srv, x.trail, x.plugin, x.socket = srv, trail, plugin, socket
	ctx, cancel := context.WithCancel(context.Background())
	x.cancel = cancel

	if x.admin = resolveAdminSocket(x.opt.adminSocket, socket); x.admin != "" {
		l, err := authz.ListenUnix(x.admin)
		switch {
		case err != nil && x.opt.adminSocket != "auto":
			return fmt.Errorf("--admin-socket: %w", err)
		case err != nil:
			x.log.WithError(err).Warn("no admin socket: `docker-authz status` will not reach this instance (set --admin-socket)")
			x.admin = ""
		default:
			x.listeners = append(x.listeners, x.admin)
			x.serveHTTP(l, x.adminHandler())
		}
	}
	if x.opt.metricsAddr != "" {
		l, err := net.Listen("tcp", x.opt.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", x.metrics.Handler())
		mux.HandleFunc("/ready", x.serveReady)
		x.serveHTTP(l, mux)
		x.log.WithField("addr", l.Addr().String()).Info("metrics on /metrics")
	}
	switch {
	case x.reloader != nil && x.opt.watch > 0:
		x.wg.Add(1)
		go func() { defer x.wg.Done(); x.reloader.Run(ctx) }()
	case x.pdb != nil && x.metrics != nil:
		x.wg.Add(1)
		go func() { defer x.wg.Done(); x.followDB(ctx) }()
	}
	x.serving.Store(true)
	rev := ""
	if p := x.holder.Policy(); p != nil {
		rev = p.Revision
	}
	sdNotify("READY=1\nSTATUS=serving, policy revision " + rev)
	return nil
}

func (x *ops) serveHTTP(l net.Listener, h http.Handler) {
	s := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	x.httpServes = append(x.httpServes, s)
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			x.log.WithError(err).Error("admin/metrics listener stopped")
		}
	}()
}

// reload is SIGHUP: load now, whatever the files' state.
func (x *ops) reload() {
	if x.reloader == nil {
		x.pdb.reload()
		return
	}
	sdNotify("RELOADING=1")
	st := "STATUS=serving, policy revision "
	if err := x.reloader.Reload(context.Background(), reload.TriggerSignal); err != nil { // logged, observed, in status
		st = "STATUS=policy reload REJECTED (see docker-authz status), serving revision "
	}
	sdNotify("READY=1\n" + st + x.reloader.Status().Revision)
}

// shuttingDown marks the instance not ready (SIGTERM): the admin socket
// keeps answering while requests drain.
func (x *ops) shuttingDown() {
	x.stopping.Store(true)
	sdNotify("STOPPING=1")
}

// close stops the watch and the listeners.
func (x *ops) close() {
	x.stopping.Store(true)
	if x.cancel != nil {
		x.cancel()
	}
	for _, s := range x.httpServes {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Shutdown(ctx)
		cancel()
	}
	x.wg.Wait()
	for _, p := range x.listeners {
		os.Remove(p)
	}
}

// statusReport is what GET /status answers and `docker-authz status` prints.
type statusReport struct {
	Version        string          `json:"version"`
	PID            int             `json:"pid"`
	Ready          bool            `json:"ready"`
	NotReady       []string        `json:"not_ready,omitempty"` // why not
	Started        time.Time       `json:"started"`
	UptimeSeconds  float64         `json:"uptime_seconds"`
	Plugin         string          `json:"plugin"`
	Socket         string          `json:"socket"`
	AdminSocket    string          `json:"admin_socket,omitempty"`
	MetricsAddr    string          `json:"metrics_addr,omitempty"`
	Policy         policyReport    `json:"policy"`
	Decisions      decisionsReport `json:"decisions"`
	Audit          auditReport     `json:"audit"`
	InFlight       int64           `json:"in_flight"`
	WatchIntervalS float64         `json:"watch_interval_seconds"`
}

type policyReport struct {
	Revision string          `json:"revision"`
	Source   string          `json:"source"`
	Reload   reload.Status   `json:"reload"`
	Database *databaseReport `json:"database,omitempty"` // a policy from PostgreSQL (status_db.go)
}

type decisionsReport struct {
	Allowed uint64 `json:"allowed"`
	Denied  uint64 `json:"denied"`
	Errors  uint64 `json:"errors"`
}

type auditReport struct {
	Path          string    `json:"path"`
	Records       uint64    `json:"records"` // made durable since start
	LastSeq       uint64    `json:"last_seq"`
	FailedRecords uint64    `json:"failed_records"`
	FailedBatches uint64    `json:"failed_batches"`
	LastFailure   time.Time `json:"last_failure,omitempty"`
	LastError     string    `json:"last_error,omitempty"`
}

func (x *ops) report() statusReport {
	now := time.Now()
	rs := x.policyStatus()
	r := statusReport{
		Version: strings.TrimSpace(Version), PID: os.Getpid(),
		Started: x.started, UptimeSeconds: now.Sub(x.started).Round(time.Millisecond).Seconds(),
		Plugin: x.plugin, Socket: x.socket, AdminSocket: x.admin, MetricsAddr: x.opt.metricsAddr,
		Policy:         policyReport{Source: rs.Source, Reload: rs},
		InFlight:       x.obs.inFlight.Load(),
		WatchIntervalS: x.opt.watch.Seconds(),
	}
	if p := x.holder.Policy(); p != nil {
		r.Policy.Revision = p.Revision
	}
	if st, ok := x.pdb.status(); ok {
		r.Policy.Database = databaseReportOf(st)
	}
	if x.srv != nil {
		r.Decisions = decisionsReport{Allowed: x.srv.Allowed.Load(), Denied: x.srv.Denied.Load(), Errors: x.srv.Errors.Load()}
	}
	if x.trail != nil {
		st := x.trail.Stats()
		seq, _ := x.trail.Head()
		r.Audit = auditReport{Path: x.trail.Path(), Records: st.Records, LastSeq: seq, FailedRecords: st.FailedRecords, FailedBatches: st.FailedBatches}
	}
	if t, err := x.obs.lastAuditFailure(); err != "" {
		r.Audit.LastFailure, r.Audit.LastError = t, err
	}
	r.NotReady = x.notReady()
	r.Ready = len(r.NotReady) == 0
	return r
}

// notReady lists why the instance should not be sent requests; empty means
// ready: serving, a policy in force, and the audit trail taking records.
func (x *ops) notReady() []string {
	var why []string
	if x.stopping.Load() {
		why = append(why, "shutting down")
	} else if !x.serving.Load() {
		why = append(why, "starting")
	}
	if x.holder.Policy() == nil {
		why = append(why, "no policy in force")
	}
	if x.obs.auditFailing() {
		why = append(why, "the last audit write failed: requests are being denied")
	}
	return why
}

func (x *ops) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(x.report())
	})
	mux.HandleFunc("/ready", x.serveReady)
	return mux
}

// serveReady answers 200 "ready" or 503 with the reasons.
func (x *ops) serveReady(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if why := x.notReady(); len(why) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: "+strings.Join(why, "; "))
		return
	}
	fmt.Fprintln(w, "ready")
}

// opsObserver tracks what status needs (in-flight requests, audit health)
// and passes everything on to the metrics, if any.
type opsObserver struct {
	next     *metrics.Metrics
	inFlight atomic.Int64

	mu         sync.Mutex
	failing    bool
	lastFail   time.Time
	lastFailed string
}

func (o *opsObserver) InFlight(d int) {
	o.inFlight.Add(int64(d))
	if o.next != nil {
		o.next.InFlight(d)
	}
}

func (o *opsObserver) Decided(e authz.DecisionEvent) {
	if o.next != nil {
		o.next.Decided(e)
	}
}

func (o *opsObserver) AuditWritten(d time.Duration, err error) {
	o.mu.Lock()
	o.failing = err != nil
	if err != nil {
		o.lastFail, o.lastFailed = time.Now(), err.Error()
	}
	o.mu.Unlock()
	if o.next != nil {
		o.next.AuditWritten(d, err)
	}
}

func (o *opsObserver) auditFailing() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.failing
}

func (o *opsObserver) lastAuditFailure() (time.Time, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastFail, o.lastFailed
}
