package authz

import (
	"context"
	"time"

	"github.com/docker-authz/docker-authz/authz/audit"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

// Enricher adds the facets that depend on state outside the request — who
// owns the container a request acts on, how many containers the caller
// runs — between request.Normalize and the policy. Config.Enricher nil
// means the feature is off and no such facet is ever raised. Package
// authz/owner implements it (serve --ownership).
type Enricher interface {
	// Internal reports whether a request is one of the enricher's own
	// read-only Docker API calls (they pass through dockerd's
	// authorization too). true: the request is allowed without policy and
	// without Enrich, so answering it never needs another lookup. An error
	// denies the request (e.g. a forged or misused lookup marker).
	Internal(sub identity.Subject, headers map[string]string, f *request.Facts) (bool, error)
	// Enrich returns the extra facets of a request, and the owner and
	// resolved object id for the audit trail. It must return within its
	// context's deadline; an error denies the request (fail closed).
	Enrich(ctx context.Context, sub identity.Subject, f *request.Facts) (Enrichment, error)
}

// Enrichment is what an Enricher found out about a request.
type Enrichment struct {
	Facets   []request.Facet
	Owner    string // owner of the object acted on (or named by a create)
	ObjectID string // full id of the object acted on
}

// enrichTimeout bounds one Enrich call (lookups are bounded more tightly
// by the enricher itself).
const enrichTimeout = 5 * time.Second

// enrich runs the configured Enricher on an identified, understood request.
// It adds facets, owner and object id to rec. internal reports one of the
// enricher's own lookups, which the caller allows without policy.
func (s *Server) enrich(ctx context.Context, sub identity.Subject, w *Message, facts *request.Facts, rec *audit.Record) (internal bool, err error) {
	e := s.cfg.Enricher
	if e == nil {
		return false, nil
	}
	internal, err = e.Internal(sub, w.RequestHeaders, facts)
	if err != nil || internal {
		if internal {
			rec.ClaimedUser, rec.User = rec.User, LookupUserName
			rec.Reason = "docker-authz's own read-only lookup (ownership)"
		}
		return internal, err
	}
	ctx, cancel := context.WithTimeout(ctx, enrichTimeout)
	defer cancel()
	en, err := e.Enrich(ctx, sub, facts)
	if err != nil {
		return false, err
	}
	rec.Facets = append(rec.Facets, en.Facets...)
	rec.Owner, rec.ObjectID = en.Owner, en.ObjectID
	return false, nil
}

// LookupUserName is the user the audit trail shows for the enricher's own
// lookups (the same name as owner.LookupUser).
const LookupUserName = "docker-authz:lookup"
