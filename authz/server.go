package authz

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/go-plugins-helpers/authorization"
	"github.com/sirupsen/logrus"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
	"github.com/docker-authz/docker-authz/policy"
)

// Identifier turns the caller's certificates into a Subject.
type Identifier interface {
	Identify(identity.Input) (identity.Subject, error)
}

// Authorizer decides about a subject's facets.
type Authorizer interface {
	Authorize(identity.Subject, []request.Facet) policy.Decision
}

// PolicySource hands out the policy in force. Each request asks once, so a
// request sees one policy even while another is being loaded.
type PolicySource interface {
	Current() Authorizer
}

// Recorder durably writes audit records; nil error means on disk.
type Recorder interface {
	Write(ctx context.Context, rec *audit.Record) error
}

// Config wires a Server.
type Config struct {
	Name         string // plugin name as dockerd knows it, for messages
	Identity     Identifier
	Policy       PolicySource
	Audit        Recorder
	Log          logrus.FieldLogger
	AuditTimeout time.Duration // how long a decision may wait for its audit record (default 5s)
	Observer     Observer      // told about decisions and audit writes (metrics); nil: nobody
	Enricher     Enricher      // ownership facets between Normalize and the policy (owner.go); nil: off
	AuditLevels  audit.Levels  // audit level per route class (audit_level.go); zero: metadata for reads, request for writes
}

// Server is the plugin. Create it with NewServer; the zero Server denies
// every request.
type Server struct {
	cfg      Config
	pending  pendingRequests
	inFlight sync.WaitGroup
	srvOnce  sync.Once
	srv      *http.Server

	Allowed, Denied, Errors atomic.Uint64
}

// NewServer returns a Server. Missing parts make it deny (never allow).
func NewServer(cfg Config) *Server {
	if cfg.Name == "" {
		cfg.Name = "docker-authz"
	}
	if cfg.AuditTimeout <= 0 {
		cfg.AuditTimeout = 5 * time.Second
	}
	if cfg.Log == nil {
		l := logrus.New()
		l.SetLevel(logrus.WarnLevel)
		cfg.Log = l
	}
	s := &Server{cfg: observe(cfg)}
	s.pending.init(16384, 10*time.Minute)
	return s
}

// Handler serves the plugin protocol.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(activatePath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", pluginContentType)
		fmt.Fprintln(w, `{"Implements": ["`+authorization.AuthZApiImplements+`"]}`)
	})
	mux.HandleFunc(reqPath, func(w http.ResponseWriter, r *http.Request) {
		writeResponse(w, s.serve(r, s.authZReq))
	})
	mux.HandleFunc(resPath, func(w http.ResponseWriter, r *http.Request) {
		writeResponse(w, s.serve(r, s.authZRes))
	})
	return mux
}

// serve decodes one message and runs a stage on it, turning every failure,
// including a panic, into a deny.
func (s *Server) serve(r *http.Request, stage func(context.Context, *Message) authorization.Response) (res authorization.Response) {
	s.inFlight.Add(1)
	defer s.inFlight.Done()
	start, stageName := time.Now(), stageOf(r)
	s.observer().InFlight(1)
	defer s.observer().InFlight(-1)
	defer func() {
		if p := recover(); p != nil {
			s.decided(stageName, start, ResultError, nil)
			s.Errors.Add(1)
			s.log().WithField("panic", fmt.Sprint(p)).WithField("stack", string(debug.Stack())).Error("recovered from a panic; denying the request")
			res = deny("internal error in the authorization plugin; the request was denied (see the plugin log)")
		}
	}()
	if s == nil || s.cfg.Policy == nil || s.cfg.Identity == nil || s.cfg.Audit == nil {
		s.decided(stageName, start, ResultError, nil)
		return deny("the authorization plugin is not configured; denying everything")
	}
	w, err := decodeWire(r)
	if err != nil {
		s.decided(stageName, start, ResultError, nil)
		s.Errors.Add(1)
		s.log().WithError(err).Warn("undecodable plugin request denied")
		return deny("docker-authz could not read the request from dockerd: " + err.Error())
	}
	return stage(r.Context(), w)
}

func deny(msg string) authorization.Response { return authorization.Response{Allow: false, Msg: msg} }

func (s *Server) log() logrus.FieldLogger {
	if s == nil || s.cfg.Log == nil {
		return logrus.StandardLogger()
	}
	return s.cfg.Log
}

// authZReq decides about a request before dockerd runs it.
func (s *Server) authZReq(ctx context.Context, w *Message) authorization.Response {
	start, denied := time.Now(), []string(nil)
	rec := &audit.Record{
		ID:       newID(),
		Stage:    audit.StageRequest,
		Method:   w.RequestMethod,
		URI:      w.RequestURI,
		Headers:  s.auditHeaders(w.RequestHeaders),
		BodySize: len(w.RequestBody),
		Decision: audit.Deny,
	}
	if len(w.RequestBody) > 0 {
		rec.BodySHA256 = audit.BodyDigest(w.RequestBody)
	}

	sub, idErr := s.cfg.Identity.Identify(w.Caller())
	if idErr == nil {
		rec.User, rec.Groups, rec.AuthMethod = sub.User, sub.Groups, sub.AuthMethod
		rec.CertSHA256, rec.CertSerial = sub.Fingerprint, sub.Serial
	}
	if w.User != "" && w.User != sub.User {
		rec.ClaimedUser = w.User
	}

	var msg string
	allow := false
	facts, normErr := request.Normalize(w.Request())
	if facts != nil {
		rec.Route, rec.APIVersion, rec.Object = facts.Route, facts.APIVersion, auditObject(facts)
		rec.Facets = PolicyFacets(facts)
	}
	switch {
	case idErr != nil:
		msg = "could not identify the caller: " + idErr.Error()
		rec.Reason = msg
	case normErr != nil:
		msg = who(sub) + ": request refused: " + normErr.Error()
		rec.Reason = msg
	default:
		internal, enrErr := s.enrich(ctx, sub, w, facts, rec)
		if enrErr != nil {
			msg = who(sub) + ": request refused: " + enrErr.Error()
			rec.Reason = msg
			break
		}
		if internal {
			allow, rec.Decision = true, audit.Allow
			break
		}
		pol := s.cfg.Policy.Current()
		if pol == nil {
			msg = "no policy is loaded; denying everything"
			rec.Reason = msg
			break
		}
		d := pol.Authorize(sub, rec.Facets)
		allow, msg, denied = d.Allow, d.Reason, deniedKinds(d)
		rec.Reason, rec.Rules, rec.PolicyRevision = d.Reason, d.Rules(), d.Revision
		if allow {
			rec.Decision = audit.Allow
		} else {
			rec.Denied = refusedFacets(d)
		}
	}

	if !s.applyLevel(rec, w.RequestBody) {
		// Audit level none for this route class: the operator chose to
		// keep no record of allowed requests of this class.
		s.decided(audit.StageRequest, start, ResultAllow, nil)
		s.Allowed.Add(1)
		return authorization.Response{Allow: true}
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.AuditTimeout)
	defer cancel()
	if err := s.cfg.Audit.Write(actx, rec); err != nil {
		s.decided(audit.StageRequest, start, ResultError, nil)
		s.Errors.Add(1)
		s.log().WithError(err).WithFields(logrus.Fields{"user": rec.User, "uri": audit.RedactURI(rec.URI)}).Error("audit record could not be written; request denied")
		s.Denied.Add(1)
		if rec.Decision == audit.Allow && errors.Is(err, audit.ErrMaybeWritten) {
			s.recordOverride(rec)
		}
		return deny("the audit trail could not be written, so docker-authz denies every request until it can (operator: see the plugin log)")
	}
	if !allow {
		s.decided(audit.StageRequest, start, ResultDeny, denied)
		s.Denied.Add(1)
		s.log().WithFields(s.logFields(rec)).Info("denied: " + msg)
		return deny(msg)
	}
	s.decided(audit.StageRequest, start, ResultAllow, nil)
	s.Allowed.Add(1)
	if s.debugEnabled() {
		s.log().WithFields(s.logFields(rec)).Debug("allowed")
	}
	s.pending.put(responseKey(w, rec.BodySHA256), pendingRequest{ID: rec.ID, Route: rec.Route, APIVersion: rec.APIVersion, Object: rec.Object})
	return authorization.Response{Allow: true}
}

// debugEnabled tells whether a debug line would be written, so that the hot
// path of an allow does not build fields for nothing.
func (s *Server) debugEnabled() bool {
	switch l := s.cfg.Log.(type) {
	case *logrus.Logger:
		return l.IsLevelEnabled(logrus.DebugLevel)
	case *logrus.Entry:
		return l.Logger.IsLevelEnabled(logrus.DebugLevel)
	}
	return true
}

// logFields are the fields of a decision's log line.
func (s *Server) logFields(rec *audit.Record) logrus.Fields {
	return logrus.Fields{"user": rec.User, "method": rec.Method, "uri": rec.URI, "route": rec.Route, "id": rec.ID, "seq": rec.Seq}
}

// recordOverride follows an allow record that may have reached the disk
// after its deadline with a deny record for the same request, so the trail
// never shows an allow for a request that was refused.
func (s *Server) recordOverride(allowed *audit.Record) {
	rec := *allowed
	rec.ID, rec.RequestID, rec.Decision = newID(), allowed.ID, audit.Deny
	rec.Rules, rec.Seq, rec.PrevHash, rec.Hash = nil, 0, "", ""
	rec.Reason = "overrides the allow record " + allowed.ID + ": it was not confirmed on disk in time, so the request was denied"
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.AuditTimeout)
	defer cancel()
	if err := s.cfg.Audit.Write(ctx, &rec); err != nil {
		s.log().WithError(err).WithField("request_id", allowed.ID).Error("could not record that an unconfirmed allow was denied")
	}
}

// authZRes records the outcome of an allowed request.
func (s *Server) authZRes(ctx context.Context, w *Message) authorization.Response {
	start := time.Now()
	rec := &audit.Record{
		ID:       newID(),
		Stage:    audit.StageResponse,
		Method:   w.RequestMethod,
		URI:      w.RequestURI,
		Status:   w.ResponseStatusCode,
		Decision: audit.Allow,
	}
	if sub, err := s.cfg.Identity.Identify(w.Caller()); err == nil {
		rec.User, rec.Groups, rec.AuthMethod = sub.User, sub.Groups, sub.AuthMethod
		rec.CertSHA256, rec.CertSerial = sub.Fingerprint, sub.Serial
	} else {
		rec.User, rec.Reason = w.User, "caller not identified on the response: "+err.Error()
	}
	if req, ok := s.pending.take(responseKey(w, audit.BodyDigest(w.RequestBody))); ok {
		// The request record already holds what normalising found.
		rec.RequestID, rec.Route, rec.APIVersion, rec.Object = req.ID, req.Route, req.APIVersion, req.Object
	} else if f, err := request.Normalize(w.Request()); f != nil && err == nil {
		rec.Route, rec.APIVersion, rec.Object = f.Route, f.APIVersion, auditObject(f)
	}
	if !s.responseLevel(rec) {
		s.decided(audit.StageResponse, start, ResultAllow, nil)
		return authorization.Response{Allow: true}
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.AuditTimeout)
	defer cancel()
	if err := s.cfg.Audit.Write(actx, rec); err != nil {
		s.decided(audit.StageResponse, start, ResultError, nil)
		s.Errors.Add(1)
		s.log().WithError(err).WithField("uri", audit.RedactURI(rec.URI)).Error("audit record of a response could not be written; response withheld")
		return deny("the audit trail could not be written; the response is withheld (operator: see the plugin log)")
	}
	s.decided(audit.StageResponse, start, ResultAllow, nil)
	return authorization.Response{Allow: true}
}

// refusedFacets lists the facets a decision refused, in request order: the
// audit record's "denied" member.
func refusedFacets(d policy.Decision) []request.Facet {
	var out []request.Facet
	for _, f := range d.Facets {
		if !f.Allow {
			out = append(out, f.Facet)
		}
	}
	return out
}

// PolicyFacets gives the policy the facets of a request. An unknown route
// becomes its own facet kind, unknown-route=METHOD PATH, so that `route, *`
// grants (as in the baseline profile) never cover it: only `*, *` does.
// It is policy.RequestFacets, which `check` cases and `explain` use too.
func PolicyFacets(f *request.Facts) []request.Facet { return policy.RequestFacets(f) }

func who(sub identity.Subject) string {
	if len(sub.Groups) == 0 {
		return sub.User
	}
	return sub.User + " (" + strings.Join(sub.Groups, ", ") + ")"
}

// responseKey links an AuthZRes to the AuthZReq it answers: dockerd sends the
// same request fields with both. bodyDigest is audit.BodyDigest of the
// request body, which the request record computes anyway.
func responseKey(w *Message, bodyDigest string) string {
	h := sha256.New()
	h.Write([]byte(w.User))
	h.Write([]byte{0})
	h.Write([]byte(w.RequestMethod))
	h.Write([]byte{0})
	h.Write([]byte(w.RequestURI))
	h.Write([]byte{0})
	h.Write([]byte(bodyDigest))
	h.Write([]byte{0})
	if len(w.RequestPeerCertificates) > 0 {
		h.Write(w.RequestPeerCertificates[0])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux; recovered as a deny if it does
	}
	return hex.EncodeToString(b[:])
}

// Serve answers plugin requests on l until Shutdown. Timeouts bound every
// connection so that a stuck peer cannot pin the plugin.
func (s *Server) Serve(l net.Listener) error {
	srv := s.httpServer()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) httpServer() *http.Server {
	s.srvOnce.Do(func() {
		s.srv = &http.Server{
			Handler:           s.Handler(),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		}
	})
	return s.srv
}

// Shutdown stops accepting requests and waits for in-flight ones.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.httpServer().Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.inFlight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}
