package policy

import (
	"strings"

	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

// RequestFacets gives the policy the facets of a normalised request. An
// unknown route becomes its own facet kind, unknown-route=METHOD PATH, so
// that `route, *` grants (as in the baseline profile) never cover it: only
// `*, *` does. The plugin server, `check` cases and `explain` all use it.
func RequestFacets(f *request.Facts) []request.Facet {
	out := make([]request.Facet, len(f.Facets))
	copy(out, f.Facets)
	for i, x := range out {
		if x.Kind == request.KindRoute && x.Value == request.RouteUnknown {
			out[i] = request.Facet{Kind: request.KindUnknownRoute, Value: f.Method + " " + f.Path, Source: x.Source}
		}
	}
	return out
}

// Evaluation is the decision about one raw request, taken the way the
// plugin server takes it: request.Normalize, RequestFacets, Authorize.
type Evaluation struct {
	Facts    *request.Facts  // nil when the request could not be parsed at all
	Facets   []request.Facet // what the policy was asked about
	Refused  error           // Normalize refused the request: a deny without facet decisions
	Decision Decision
}

// Evaluate decides about raw for sub.
func (p *Policy) Evaluate(sub identity.Subject, raw request.Raw) Evaluation {
	facts, err := request.Normalize(raw)
	ev := Evaluation{Facts: facts}
	if facts != nil {
		ev.Facets = RequestFacets(facts)
	}
	if err != nil {
		ev.Refused = err
		ev.Decision = Decision{Reason: Who(sub) + ": request refused: " + err.Error()}
		if p != nil {
			ev.Decision.Revision = p.Revision
		}
		return ev
	}
	ev.Decision = p.Authorize(sub, ev.Facets)
	return ev
}

// Message is the text dockerd returns to the docker client for a denied
// request (pkg/authorization: "authorization denied by plugin NAME: MSG"),
// as the docker CLI prints it.
func (e Evaluation) Message(plugin string) string {
	if e.Decision.Allow {
		return ""
	}
	return "Error response from daemon: authorization denied by plugin " + plugin + ": " + e.Decision.Reason
}

// Denied returns the facets the decision denied.
func (d Decision) Denied() []FacetResult {
	var out []FacetResult
	for _, f := range d.Facets {
		if !f.Allow {
			out = append(out, f)
		}
	}
	return out
}

// Who names a subject in messages: "alice (group:developers)".
func Who(sub identity.Subject) string {
	if len(sub.Groups) == 0 {
		return sub.User
	}
	return sub.User + " (" + strings.Join(sub.Groups, ", ") + ")"
}
