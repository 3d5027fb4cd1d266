package owner

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/docker-authz/docker-authz/authz/request"
)

// usesRoutes carry a body that names other objects the new container (or
// service task) will use: container create, start with a HostConfig body
// (API < 1.24, which dockerd still applies) and service create and update.
var usesRoutes = map[string]bool{
	"container:create": true, "container:start": true,
	"service:create": true, "service:update": true,
}

// uses raises the ownership of every object a container create (or old
// start body, or service spec) reaches into: the named volumes it mounts,
// the containers whose namespaces it joins (container:<x>), whose
// environment legacy links copy (Links) and whose volumes it mounts
// (VolumesFrom), and the user-defined networks it attaches to (NetworkMode,
// NetworkingConfig endpoints, service networks). A named volume that does
// not exist yet would be created without a label (no one's): "none".
func (e *Enricher) uses(ctx context.Context, user string, f *request.Facts) ([]request.Facet, error) {
	var out []request.Facet
	check := func(kind, ref, source string) error {
		var o Object
		var err error
		switch kind {
		case "volume":
			o, err = e.R.Volume(ctx, ref)
		case "container":
			o, err = e.R.Container(ctx, ref)
		case "network":
			o, err = e.R.Network(ctx, ref)
			if err == nil && o.Owner == "" && request.BuiltinNetwork(o.Name) {
				// A predefined network named by id or id prefix: no
				// one's and everyone's, like its name. Reaching the host
				// network that way is still the host's namespace.
				if o.Name == "host" {
					out = append(out, request.Facet{Kind: request.KindHostNS, Value: "network",
						Source: fmt.Sprintf("%s: %q is the host network (%s)", source, ref, short(o.ID))})
				}
				return nil
			}
		default:
			return fmt.Errorf("docker-authz does not know how to check the owner of a %s (%s), so the request is denied", kind, source)
		}
		fcs, err := e.facets(ctx, user, kind, ref, o, err)
		if err != nil {
			return err
		}
		for i := range fcs {
			if i == 0 {
				fcs[i].Source = source + ": " + fcs[i].Source
			}
			out = append(out, fcs[i])
		}
		return nil
	}
	for _, x := range f.Facets {
		switch x.Kind {
		case request.KindVolume:
			if err := check("volume", x.Value, x.Source); err != nil {
				return nil, err
			}
		case request.KindContainerNS:
			_, ref, _ := strings.Cut(x.Value, ":") // <ns>:container:<ref>, any case
			if len(ref) < len("container:") {
				return nil, fmt.Errorf("%s: %q is not a container namespace docker-authz can check, so the request is denied", x.Source, x.Value)
			}
			if err := check("container", ref[len("container:"):], x.Source); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range f.Refs {
		if err := check(r.Kind, r.Ref, r.Source); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// facets turns the lookup of ref into its ownership facet, plus one facet
// per other object ref could come to mean while the request is in flight
// (see shadowed).
func (e *Enricher) facets(ctx context.Context, user, kind, ref string, o Object, lookupErr error) ([]request.Facet, error) {
	fc, err := ownershipFacet(user, kind, ref, o, lookupErr)
	if err != nil {
		return nil, err
	}
	out := []request.Facet{fc}
	if lookupErr != nil || !shadowable(kind, ref, o) {
		return out, nil
	}
	others, err := e.R.Prefixed(ctx, kind, ref)
	if err != nil {
		return nil, fmt.Errorf("the %s name %q looks like an id prefix and whether it is also the prefix of another user's %s could not be checked, so the request is denied (use the full id %s): %v", kind, ref, kind, o.ID, err)
	}
	for _, x := range others {
		if x.ID == o.ID || x.Owner == user {
			continue
		}
		v := "other"
		if x.Owner == "" {
			v = "none"
		}
		out = append(out, request.Facet{Kind: request.KindOwnership, Value: v, Source: fmt.Sprintf(
			"the %s name %q is also a prefix of the id of %s %s, which is not yours: dockerd would act on that one if %s were renamed or removed meanwhile; use the full id %s",
			kind, ref, kind, short(x.ID), o.Name, o.ID)})
	}
	return out, nil
}

// hexRef is what dockerd's id index could match as an id prefix.
var hexRef = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

// shadowable reports whether ref resolved to o by its name while it is also
// a possible id prefix. dockerd resolves a container or network reference
// by full id, then by name, then by unique id prefix; a name that looks like
// a prefix of another object's id is therefore redirected to that object as
// soon as the named one is renamed or removed, which its owner alone can do
// between the plugin's decision and dockerd's execution.
func shadowable(kind, ref string, o Object) bool {
	if kind != "container" && kind != "network" {
		return false
	}
	return hexRef.MatchString(ref) && o.Name == ref && o.ID != ref
}
