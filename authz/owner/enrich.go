package owner

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/filters"

	"github.com/docker-authz/docker-authz/authz"
	"github.com/docker-authz/docker-authz/authz/identity"
	"github.com/docker-authz/docker-authz/authz/request"
)

// Enricher is the authz.Enricher of ownership: it raises the facets
// ownership, owner-label, list-filter and running-containers.
type Enricher struct {
	R *Resolver
}

var _ authz.Enricher = (*Enricher)(nil)

// lookupRoutes are the only routes the resolver's own identity may call:
// GET inspect, list and events. None of them needs an ownership lookup, so
// answering a lookup never waits for another lookup.
var lookupRoutes = map[string]bool{
	"container:inspect": true,
	"container:list":    true,
	"exec:inspect":      true,
	"volume:inspect":    true,
	"network:inspect":   true,
	"network:list":      true,
	"system:events":     true,
	"system:ping":       true,
	"system:version":    true,
}

// containerRoutes act on one container named by the path variable "name".
var containerRoutes = map[string]bool{
	"container:archive-head": true, "container:export": true, "container:changes": true,
	"container:inspect": true, "container:top": true, "container:logs": true,
	"container:stats": true, "container:attach-ws": true, "container:archive-get": true,
	"container:kill": true, "container:pause": true, "container:unpause": true,
	"container:restart": true, "container:start": true, "container:stop": true,
	"container:wait": true, "container:resize": true, "container:attach": true,
	"container:copy": true, "container:exec": true, "container:rename": true,
	"container:update": true, "container:archive-put": true, "container:delete": true,
	"checkpoint:list": true, "checkpoint:create": true, "checkpoint:delete": true,
}

// startRoutes make a container run: they count against running-containers.
var startRoutes = map[string]bool{"container:start": true, "container:restart": true, "container:unpause": true}

func header(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Internal recognises the resolver's own requests: they carry the
// per-process secret in TokenHeader, come without a client certificate
// (dockerd's unix socket) and use only lookupRoutes. A request that carries
// the header but fails any of these is refused.
func (e *Enricher) Internal(sub identity.Subject, headers map[string]string, f *request.Facts) (bool, error) {
	tok, ok := header(headers, TokenHeader)
	if !ok {
		return false, nil
	}
	if e == nil || e.R == nil || subtle.ConstantTimeCompare([]byte(tok), []byte(e.R.token)) != 1 {
		return false, fmt.Errorf("the request carries %s but not this plugin's lookup token", TokenHeader)
	}
	if sub.AuthMethod == "tls" {
		return false, fmt.Errorf("docker-authz's lookup token came with a client certificate; lookups only use dockerd's unix socket")
	}
	if f.Method != "GET" || !lookupRoutes[f.Route] {
		return false, fmt.Errorf("docker-authz's lookup identity may only use read-only inspect, list and events routes, not %s %s", f.Method, f.Route)
	}
	return true, nil
}

// Enrich raises the ownership facets of a request for sub.
func (e *Enricher) Enrich(ctx context.Context, sub identity.Subject, f *request.Facts) (authz.Enrichment, error) {
	var out authz.Enrichment
	if e == nil || e.R == nil {
		return out, errors.New("ownership is on but no resolver is configured")
	}
	user := sub.User
	add := func(fc request.Facet) {
		for _, x := range out.Facets {
			if x == fc {
				return
			}
		}
		out.Facets = append(out.Facets, fc)
	}
	object := func(kind, ref string, o Object, err error) error {
		fcs, err := e.facets(ctx, user, kind, ref, o, err)
		if err != nil {
			return err
		}
		for _, fc := range fcs {
			add(fc)
		}
		if out.ObjectID == "" {
			out.ObjectID, out.Owner = o.ID, o.Owner
		}
		return nil
	}

	switch r := f.Route; {
	case r == "container:create" || r == "volume:create" || r == "network:create":
		fc, owner := ownerLabelFacet(user, strings.TrimSuffix(r, ":create"), f.Labels)
		add(fc)
		out.Owner = owner

	case containerRoutes[r]:
		ref := f.Vars["name"]
		o, err := e.R.Container(ctx, ref)
		if err := object("container", ref, o, err); err != nil {
			return out, err
		}
		if startRoutes[r] && err == nil && o.Owner == user {
			fc, err := e.runningFacet(ctx, user, o.ID)
			if err != nil {
				return out, err
			}
			add(fc)
		}

	case r == "container:commit":
		ref := f.Query.Get("container")
		o, err := e.R.Container(ctx, ref)
		if ref == "" {
			o, err = Object{}, fmt.Errorf("container \"\": %w", ErrNotFound)
		}
		if err := object("container", ref, o, err); err != nil {
			return out, err
		}

	case r == "exec:start" || r == "exec:resize" || r == "exec:inspect":
		ref := f.Vars["name"]
		if ref == "" {
			ref = f.Vars["id"]
		}
		o, err := e.R.Exec(ctx, ref)
		if err := object("exec", ref, o, err); err != nil {
			return out, err
		}

	case r == "volume:inspect" || r == "volume:delete":
		ref := f.Vars["name"]
		o, err := e.R.Volume(ctx, ref)
		if err := object("volume", ref, o, err); err != nil {
			return out, err
		}

	case strings.HasPrefix(r, "network:") && r != "network:list" && r != "network:create" && r != "network:prune":
		ref := f.Vars["id"]
		o, err := e.R.Network(ctx, ref)
		if err := object("network", ref, o, err); err != nil {
			return out, err
		}
		if (r == "network:connect" || r == "network:disconnect") && f.Container != "" {
			c, err := e.R.Container(ctx, f.Container)
			if err := object("container", f.Container, c, err); err != nil {
				return out, err
			}
		}

	case r == "container:list" || r == "volume:list" || r == "network:list":
		if hasOwnFilter(f, user) {
			add(request.Facet{Kind: request.KindListFilter, Value: "own", Source: "query:filters label=" + Label + "=" + user})
		} else {
			add(request.Facet{Kind: request.KindListFilter, Value: "unfiltered", Source: "query:filters: list only your own with --filter label=" + Label + "=" + user})
		}

	case r == "container:prune" || r == "volume:prune" || r == "network:prune":
		if hasOwnFilter(f, user) {
			add(request.Facet{Kind: request.KindOwnership, Value: "own", Source: "prune with filter label=" + Label + "=" + user})
		} else {
			add(request.Facet{Kind: request.KindOwnership, Value: "other", Source: "prune without --filter label=" + Label + "=" + user + " removes every user's unused objects"})
		}
	}
	if usesRoutes[f.Route] {
		fcs, err := e.uses(ctx, user, f)
		if err != nil {
			return out, err
		}
		for _, fc := range fcs {
			add(fc)
		}
	}
	return out, nil
}

// ownershipFacet turns a lookup into the ownership facet. Not found is
// "none" (no one owns what does not exist); any other failure is an error,
// which denies the request.
func ownershipFacet(user, kind, ref string, o Object, err error) (request.Facet, error) {
	fc := request.Facet{Kind: request.KindOwnership}
	switch {
	case errors.Is(err, ErrNotFound):
		fc.Value, fc.Source = "none", fmt.Sprintf("no such %s %q", kind, ref)
		return fc, nil
	case err != nil:
		return fc, fmt.Errorf("the owner of %s %q could not be determined, so the request is denied: %v", kind, ref, err)
	}
	what := kind
	if kind == "exec" {
		what = fmt.Sprintf("exec %s of container", short(ref))
	}
	desc := fmt.Sprintf("%s %s (%s)", what, o.Name, short(o.ID))
	if o.Kind == "volume" {
		desc = fmt.Sprintf("%s %s", what, o.Name)
	}
	switch o.Owner {
	case "":
		fc.Value, fc.Source = "none", desc+" has no "+Label+" label"
	case user:
		fc.Value, fc.Source = "own", desc+" is owned by "+user
	default:
		fc.Value, fc.Source = "other", desc+" is owned by "+o.Owner
	}
	return fc, nil
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ownerLabelFacet checks the owner label of a create.
func ownerLabelFacet(user, kind string, labels map[string]string) (request.Facet, string) {
	flag := "--label " + Label + "=" + user
	v, ok := labels[Label]
	switch {
	case !ok || v == "":
		return request.Facet{Kind: request.KindOwnerLabel, Value: "missing", Source: fmt.Sprintf("Labels has no %s: add %s to the %s create", Label, flag, kind)}, ""
	case v == user:
		return request.Facet{Kind: request.KindOwnerLabel, Value: "self", Source: "Labels[" + Label + "]=" + v}, v
	default:
		return request.Facet{Kind: request.KindOwnerLabel, Value: "other", Source: fmt.Sprintf("Labels[%s]=%s is not you: use %s", Label, v, flag)}, v
	}
}

// hasOwnFilter reports whether the request's filters include
// label=com.docker-authz.owner=<user> (dockerd ANDs label filters, so the
// answer can only contain the caller's objects).
func hasOwnFilter(f *request.Facts, user string) bool {
	raw := f.Query.Get("filters")
	if raw == "" {
		return false
	}
	args, err := filters.FromJSON(raw)
	if err != nil {
		return false
	}
	return contains(args.Get("label"), Label+"="+user)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// runningFacet counts the caller's running containers once container id
// runs too.
func (e *Enricher) runningFacet(ctx context.Context, user, id string) (request.Facet, error) {
	ids, err := e.R.Running(ctx, user)
	if err != nil {
		return request.Facet{}, fmt.Errorf("the running-containers quota could not be checked, so the request is denied: %v", err)
	}
	n := 1
	for _, x := range ids {
		if x != id {
			n++
		}
	}
	return request.Facet{Kind: request.KindRunningContainers, Value: strconv.Itoa(n),
		Source: fmt.Sprintf("%s's running containers (label %s=%s), with this one", user, Label, user)}, nil
}
