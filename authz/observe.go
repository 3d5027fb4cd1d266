package authz

import (
	"context"
	"net/http"
	"time"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/policy"
)

// Results of a decision as an Observer sees them.
const (
	ResultAllow = "allow" // allowed and recorded
	ResultDeny  = "deny"  // denied by the policy, the identity check or the request check
	ResultError = "error" // denied because something failed: audit trail, decode, panic
)

// DecisionEvent describes one answered plugin request.
type DecisionEvent struct {
	Stage        string        // audit.StageRequest or audit.StageResponse
	Result       string        // ResultAllow, ResultDeny or ResultError
	DeniedFacets []string      // kinds of the facets the policy denied (request stage only)
	Duration     time.Duration // from receipt to answer, audit write included
}

// Observer is told what the Server does, for metrics. Implementations must
// be cheap and safe for concurrent use; they are called on the request
// path. A nil Observer in Config means nobody is told.
type Observer interface {
	// InFlight is called with +1 when a plugin request arrives and -1 when
	// it has been answered.
	InFlight(delta int)
	// Decided is called once per answered AuthZReq or AuthZRes.
	Decided(DecisionEvent)
	// AuditWritten is called after every audit write with its latency and
	// result (nil: durable).
	AuditWritten(d time.Duration, err error)
}

// observer returns the configured Observer or a no-op one.
func (s *Server) observer() Observer {
	if s == nil || s.cfg.Observer == nil {
		return nopObserver{}
	}
	return s.cfg.Observer
}

type nopObserver struct{}

func (nopObserver) InFlight(int)                      {}
func (nopObserver) Decided(DecisionEvent)             {}
func (nopObserver) AuditWritten(time.Duration, error) {}

// observedRecorder times every audit write for the Observer.
type observedRecorder struct {
	next Recorder
	obs  Observer
}

func (r observedRecorder) Write(ctx context.Context, rec *audit.Record) error {
	start := time.Now()
	err := r.next.Write(ctx, rec)
	r.obs.AuditWritten(time.Since(start), err)
	return err
}

// observe wraps cfg.Audit so that audit writes are timed (when there is an
// Observer and a Recorder).
func observe(cfg Config) Config {
	if cfg.Observer != nil && cfg.Audit != nil {
		cfg.Audit = observedRecorder{next: cfg.Audit, obs: cfg.Observer}
	}
	return cfg
}

// deniedKinds lists the kinds of the facets a decision denied, each once.
func deniedKinds(d policy.Decision) []string {
	var out []string
	for _, f := range d.Facets {
		if f.Allow {
			continue
		}
		dup := false
		for _, k := range out {
			if k == f.Kind {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, f.Kind)
		}
	}
	return out
}

// decided reports one answered request to the Observer.
func (s *Server) decided(stage string, start time.Time, result string, denied []string) {
	s.observer().Decided(DecisionEvent{Stage: stage, Result: result, DeniedFacets: denied, Duration: time.Since(start)})
}

// stageOf names the stage of a plugin request by its path.
func stageOf(r *http.Request) string {
	if r != nil && r.URL != nil && r.URL.Path == resPath {
		return audit.StageResponse
	}
	return audit.StageRequest
}
