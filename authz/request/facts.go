package request

import (
	"net/url"
	"strings"
)

// Raw is the part of dockerd's AuthZReq that describes the Docker API call.
type Raw struct {
	Method  string
	URI     string            // path and query as dockerd received it, e.g. /v1.41/containers/create?name=x
	Headers map[string]string // first value of each header, as dockerd forwards them
	Body    []byte            // nil when dockerd forwarded no body
}

// Facet is one security-relevant property of a request. The policy must allow
// every facet of a request for the request to be allowed.
//
// Kind and Value are what the policy matches (p, subject, kind, value-pattern, eft);
// Source says where in the request the value was found, for messages and audit.
type Facet struct {
	Kind   string `json:"kind"`
	Value  string `json:"value"`
	Source string `json:"source,omitempty"`
}

func (f Facet) String() string { return f.Kind + "=" + f.Value }

// Facts is the normalised view of one Docker API request.
type Facts struct {
	Method     string            `json:"method"`
	Path       string            `json:"path"`                  // cleaned path without the version prefix
	APIVersion string            `json:"api_version,omitempty"` // "1.41" from /v1.41/..., "" when absent
	Route      string            `json:"route"`                 // route name, e.g. "container:create"; RouteUnknown when not in the table
	Vars       map[string]string `json:"vars,omitempty"`        // path parameters, e.g. {"name": "web"}
	Query      url.Values        `json:"-"`
	Facets     []Facet           `json:"facets"` // the route facet first, then body and query facets

	// Body values the ownership checks need (package authz/owner); they are
	// not facets, so a policy without ownership never sees them.
	Labels    map[string]string `json:"-"` // Labels of a container, volume or network create (nil when none)
	Container string            `json:"-"` // the container named in a network connect/disconnect body
	Refs      []ObjectRef       `json:"-"` // other containers and networks a create, old-API start or service spec names
}

// ObjectRef is a container or network that a request body names besides
// the object it acts on: legacy links and volumes-from sources (container),
// a user-defined NetworkMode, NetworkingConfig endpoints and service
// networks (network). Ref is the reference exactly as dockerd will resolve
// it (name, id or id prefix), or the raw entry when it does not parse
// (resolving it then fails, which denies). The built-in networks default,
// bridge, host and none are not references: they belong to no one.
type ObjectRef struct {
	Kind   string // "container" or "network"
	Ref    string
	Source string // where in the request, e.g. HostConfig.Links[0]
}

// RouteUnknown names requests whose method and path match no Docker API route.
const RouteUnknown = "unknown"

// Facet kinds. The same names are used in policies, audit records, deny
// messages and `docker-authz explain`.
const (
	KindRoute      = "route"      // value: route name, e.g. container:create
	KindPrivileged = "privileged" // value: what is privileged: container, exec, service, plugin
	KindBind       = "bind"       // value: cleaned absolute host path
	KindCap        = "cap"        // value: capability without CAP_ prefix, upper case, or ALL
	KindImage      = "image"      // value: normalised reference, e.g. docker.io/library/alpine:latest
)

// ObjectName returns the object a route acts on (container id or name, image, ...), or "".
func (f *Facts) ObjectName() string {
	for _, k := range []string{"name", "id"} {
		if v := f.Vars[k]; v != "" {
			return v
		}
	}
	return ""
}

// Has reports whether the facts carry a facet of the given kind.
func (f *Facts) Has(kind string) bool {
	for _, x := range f.Facets {
		if strings.EqualFold(x.Kind, kind) {
			return true
		}
	}
	return false
}

// KindUnknownRoute is the facet of a request whose method and path match no
// route (value: "METHOD /path"). Policies grant it only through the facet
// `*`, so `route, *` never covers calls outside the Docker API.
const KindUnknownRoute = "unknown-route"
