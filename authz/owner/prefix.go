package owner

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types"
)

// Prefixed returns the containers or networks (kind) whose id starts with
// prefix, from a full list (GET /containers/json?all=1 or GET /networks).
// Never cached: it guards a race, so it must see the present. The list is
// not filtered by dockerd: its id filter resolves an ambiguous prefix to
// nothing, which is exactly the case that must be seen.
func (r *Resolver) Prefixed(ctx context.Context, kind, prefix string) ([]Object, error) {
	if err := checkRef(kind, prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	r.Lookups.Add(1)
	var out []Object
	var err error
	switch kind {
	case "container":
		var list []types.Container
		// Limit -1: no limit parameter (the client would send limit=0).
		if list, err = r.cli.ContainerList(ctx, types.ContainerListOptions{All: true, Limit: -1}); err == nil {
			for _, c := range list {
				if strings.HasPrefix(c.ID, prefix) {
					name := ""
					if len(c.Names) > 0 {
						name = strings.TrimPrefix(c.Names[0], "/")
					}
					out = append(out, Object{Kind: "container", ID: c.ID, Name: name, Owner: c.Labels[Label]})
				}
			}
		}
	case "network":
		var list []types.NetworkResource
		if list, err = r.cli.NetworkList(ctx, types.NetworkListOptions{}); err == nil {
			for _, n := range list {
				if strings.HasPrefix(n.ID, prefix) {
					out = append(out, Object{Kind: "network", ID: n.ID, Name: n.Name, Owner: n.Labels[Label]})
				}
			}
		}
	default:
		return nil, fmt.Errorf("no id prefixes for %s", kind)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("listing %ss through the Docker API timed out after %v (is --docker-host %s reachable?)", kind, r.cfg.Timeout, r.cfg.Host)
		}
		return nil, fmt.Errorf("listing %ss through the Docker API: %v", kind, err)
	}
	return out, nil
}
