package request

import (
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
)

// Object reference kinds (ObjectRef.Kind).
const (
	RefContainer = "container"
	RefNetwork   = "network"
)

func (c *collector) ref(kind, ref, source string) {
	for _, r := range c.facts.Refs {
		if r.Kind == kind && r.Ref == ref {
			return
		}
	}
	c.facts.Refs = append(c.facts.Refs, ObjectRef{Kind: kind, Ref: ref, Source: source})
}

// BuiltinNetwork reports whether name is one of dockerd's predefined
// network modes (runconfig.IsPreDefinedNetwork: default, bridge, host,
// none; compared exactly, as dockerd does). dockerd refuses to create a
// network with one of these names, so they never name a user's network.
func BuiltinNetwork(name string) bool {
	switch name {
	case "default", "bridge", "host", "none":
		return true
	}
	return false
}

// networkRef records a network a container or service attaches to, unless
// it is a built-in one or (container:<x>) another container's namespace,
// which nsFacet raises.
func (c *collector) networkRef(name, source string) {
	if name == "" || BuiltinNetwork(name) || strings.HasPrefix(name, "container:") {
		return
	}
	c.ref(RefNetwork, name, source)
}

// linkTarget is the container a legacy link names, as dockerd's
// opts.ParseLink reads "name", "name:alias" and "/name:/c/alias". An entry
// it would reject is returned as given (resolving it then fails).
func linkTarget(link string) string {
	parts := strings.Split(link, ":")
	switch {
	case len(parts) > 2 || link == "":
		return link
	case len(parts) == 2 && strings.HasPrefix(parts[0], "/"):
		return parts[0][1:]
	}
	return parts[0]
}

// hostConfigRefs records the containers and the network a HostConfig names:
// Links, VolumesFrom ("name[:mode]") and a user-defined NetworkMode.
func hostConfigRefs(c *collector, hc *container.HostConfig, src func(string) string) {
	for i, l := range hc.Links {
		c.ref(RefContainer, linkTarget(l), src("Links["+strconv.Itoa(i)+"]"))
	}
	for i, v := range hc.VolumesFrom {
		name, _, _ := strings.Cut(v, ":")
		c.ref(RefContainer, name, src("VolumesFrom["+strconv.Itoa(i)+"]"))
	}
	c.networkRef(string(hc.NetworkMode), src("NetworkMode"))
}

// endpointRefs records the networks of NetworkingConfig (dockerd connects
// the container to every key at start) and the containers their Links name.
func endpointRefs(c *collector, nc *network.NetworkingConfig) {
	if nc == nil {
		return
	}
	for _, name := range sortedKeys(nc.EndpointsConfig) {
		s := "NetworkingConfig.EndpointsConfig[" + strconv.Quote(name) + "]"
		c.networkRef(name, s)
		if ep := nc.EndpointsConfig[name]; ep != nil {
			for i, l := range ep.Links {
				c.ref(RefContainer, linkTarget(l), s+".Links["+strconv.Itoa(i)+"]")
			}
		}
	}
}

// serviceRefs records the networks a service spec attaches its tasks to.
func serviceRefs(c *collector, s *swarm.ServiceSpec) {
	for i, n := range s.TaskTemplate.Networks {
		c.networkRef(n.Target, "TaskTemplate.Networks["+strconv.Itoa(i)+"].Target")
	}
	for i, n := range s.Networks { //nolint:staticcheck // deprecated but still honoured by dockerd 20.10
		c.networkRef(n.Target, "Networks["+strconv.Itoa(i)+"].Target")
	}
}
