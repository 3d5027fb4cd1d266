package request

import (
	"fmt"
	"mime"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// maxForwardedBody is dockerd's limit (pkg/authorization maxBodySize): larger
// bodies are not forwarded to plugins.
const maxForwardedBody = 1 << 20

// createBody mirrors runconfig.ContainerConfigWrapper (dockerd 20.10), the
// type dockerd decodes POST /containers/create and POST /commit bodies into:
// container.Config fields at the top level, HostConfig and NetworkingConfig
// objects, the deprecated top-level Cpuset and — through the embedded
// *container.HostConfig — every HostConfig field at the top level too (the
// legacy form old API clients used). runconfig's getHostConfig uses the
// top-level fields when no "HostConfig" object is given, and otherwise takes
// the HostConfig object, filling Memory, MemorySwap, CpuShares, CpusetCpus and
// VolumeDriver from the top level when they are zero there.
type createBody struct {
	*container.Config
	InnerHostConfig  *container.HostConfig     `json:"HostConfig,omitempty"`
	Cpuset           string                    `json:",omitempty"`
	NetworkingConfig *network.NetworkingConfig `json:"NetworkingConfig,omitempty"`
	*container.HostConfig
}

// Normalize turns a raw request into Facts. Any error means deny; the error
// text says what was not understood.
func Normalize(raw Raw) (*Facts, error) {
	if raw.Method == "" {
		return nil, fmt.Errorf("request has no method")
	}
	pu, err := ParseURI(raw.URI)
	if err != nil {
		return nil, err
	}
	f := &Facts{
		Method:     raw.Method,
		Path:       pu.Path,
		APIVersion: pu.APIVersion,
		Query:      pu.Query,
	}
	route, vars := lookupRoute(raw.Method, pu.Path, pu.Versioned)
	if route == nil {
		f.Route = RouteUnknown
	} else {
		f.Route = route.Name
		f.Vars = vars
	}
	// A container create raises a dozen facets; other routes a few.
	f.Facets = make([]Facet, 0, facetCapacity(f.Route))
	c := &collector{facts: f}
	c.add(KindRoute, f.Route, "")

	if err := checkBodyTransport(raw, route, pu, f); err != nil {
		return nil, err
	}
	if route != nil {
		if err := routeFacets(c, raw, route, pu); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// requestName prints as "METHOD /path" in error messages; built only when
// an error is.
type requestName struct{ method, path string }

func (r requestName) String() string { return r.method + " " + r.path }

// facetCapacity is the initial capacity of the facet list of a route.
func facetCapacity(route string) int {
	if route == "container:create" {
		return 16
	}
	return 4
}

func header(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// checkBodyTransport checks Content-Type and body presence against what the
// route needs, before any body is decoded.
func checkBodyTransport(raw Raw, route *Route, pu *ParsedURI, f *Facts) error {
	what := requestName{raw.Method, pu.Path}
	ct, hasCT := header(raw.Headers, "Content-Type")
	var media string
	if ct == "application/json" {
		media = ct // what mime.ParseMediaType gives for it, without its parameter map
	} else if hasCT && strings.TrimSpace(ct) != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err == nil {
			media = mt
		} else if len(raw.Body) > 0 {
			return fmt.Errorf("%s: Content-Type %q does not parse (%v) but a body was forwarded: refusing", what, ct, err)
		}
	}
	// net/http's ParseForm (which dockerd's handlers call) reads an
	// application/x-www-form-urlencoded body of a POST/PUT/PATCH as form
	// values, and those override the query string the plugin sees.
	if media == "application/x-www-form-urlencoded" && (raw.Method == "POST" || raw.Method == "PUT" || raw.Method == "PATCH") {
		return fmt.Errorf("%s: Content-Type application/x-www-form-urlencoded: dockerd would read parameters from the body, which is not forwarded to plugins: refusing", what)
	}
	if len(raw.Body) > 0 {
		if hasCT && media != "application/json" {
			return fmt.Errorf("%s: a body was forwarded with Content-Type %q; only application/json bodies are understood: refusing", what, ct)
		}
		if len(raw.Body) >= maxForwardedBody {
			return fmt.Errorf("%s: forwarded body is %d bytes, over dockerd's 1 MiB forwarding limit: refusing", what, len(raw.Body))
		}
		if route == nil {
			return fmt.Errorf("%s is not a Docker API 1.41 route but carries a body: refusing", what)
		}
		return nil
	}
	// No body forwarded. Was one sent?
	sent := ""
	if cl, ok := header(raw.Headers, "Content-Length"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%s: Content-Length %q does not parse: refusing", what, cl)
		}
		if n > 0 {
			sent = fmt.Sprintf("a %d-byte body was sent but not forwarded", n)
		}
	}
	if te, ok := header(raw.Headers, "Transfer-Encoding"); ok && strings.TrimSpace(te) != "" && !strings.EqualFold(strings.TrimSpace(te), "identity") {
		sent = fmt.Sprintf("a body with Transfer-Encoding %q was sent but not forwarded", te)
	}
	if route == nil {
		if sent != "" {
			return fmt.Errorf("%s is not a Docker API 1.41 route and %s: refusing", what, sent)
		}
		return nil
	}
	switch route.Body {
	case BodyJSON:
		return fmt.Errorf("%s requires a JSON body but none was forwarded (body over 1 MiB, chunked, or not application/json?): refusing", what)
	case BodyJSONOpt, BodyNone:
		if sent != "" {
			return fmt.Errorf("%s: %s (over 1 MiB, chunked, or not application/json?); dockerd may read it: refusing", what, sent)
		}
	case BodyStartOld:
		if sent != "" && versionBefore(pu.APIVersion, 24) {
			return fmt.Errorf("%s on API %s: %s; dockerd would apply it as HostConfig: refusing", what, pu.APIVersion, sent)
		}
	case BodyStream:
		// POST /images/create pulls when fromImage is set and then never
		// reads the body; a body there can only be form data.
		if route.Name == "image:pull" && pu.Query.Get("fromImage") != "" && sent != "" {
			return fmt.Errorf("%s (pull): %s; a pull takes no body: refusing", what, sent)
		}
	}
	return nil
}

// routeFacets decodes the body (when there is one) and raises the facets of
// the route.
func routeFacets(c *collector, raw Raw, route *Route, pu *ParsedURI) error {
	body := raw.Body
	q := pu.Query
	what := requestName{raw.Method, pu.Path}
	decode := func(v any) error {
		if err := StrictDecode(body, v); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
		return nil
	}
	has := len(body) > 0

	switch route.Name {
	case "container:create":
		var b createBody
		if err := decode(&b); err != nil {
			return err
		}
		return createFacets(c, &b)

	case "container:start":
		if cp := q.Get("checkpoint-dir"); cp != "" {
			if err := c.hostPath(KindBind, cp, "query:checkpoint-dir"); err != nil {
				return err
			}
		}
		if !has {
			return nil
		}
		if !versionBefore(pu.APIVersion, 24) {
			if len(body) <= 7 { // dockerd reads a start body only when Content-Length > 7
				return nil
			}
			return fmt.Errorf("%s: a body on start is refused by dockerd since API 1.24: refusing", what)
		}
		// dockerd's DecodeHostConfig decodes the start body into the same
		// wrapper as create (runconfig/hostconfig.go decodeHostConfig).
		var b createBody
		if err := decode(&b); err != nil {
			return err
		}
		return hostConfigsFacets(c, &b)

	case "container:update":
		var u *container.UpdateConfig
		if err := decode(&u); err != nil {
			return err
		}
		if u == nil {
			return fmt.Errorf("%s: body is null; dockerd would update nothing: refusing", what)
		}
		if err := resourceFacets(c, &u.Resources, ""); err != nil {
			return err
		}
		c.updateResources(&u.Resources) // update.go: zero means unchanged
		return nil

	case "container:exec":
		var e *types.ExecConfig
		if err := decode(&e); err != nil {
			return err
		}
		if e == nil {
			return fmt.Errorf("%s: body is null: refusing", what)
		}
		if e.Privileged {
			c.add(KindPrivileged, "exec", "Privileged")
		}
		c.add(KindUser, e.User, "User")
		return nil

	case "exec:start":
		var e *types.ExecStartCheck
		return decode(&e)

	case "container:copy":
		var cc *types.CopyConfig
		return decode(&cc)

	case "container:commit":
		if has {
			var b createBody
			if err := decode(&b); err != nil {
				return err
			}
		}
		for _, ch := range q["changes"] {
			c.add(KindCommitChanges, ch, "query:changes")
		}
		if repo := q.Get("repo"); repo != "" {
			if err := c.imageTarget(repo, q.Get("tag"), "query:repo"); err != nil {
				return err
			}
		}
		return nil

	case "container:archive-put":
		c.add(KindArchivePut, q.Get("path"), "query:path")
		return nil

	case "image:pull":
		if img := q.Get("fromImage"); img != "" {
			return c.pullImage(img, q.Get("tag"))
		}
		c.add(KindImageImport, q.Get("fromSrc"), "query:fromSrc")
		if repo := q.Get("repo"); repo != "" {
			return c.imageTarget(repo, q.Get("tag"), "query:repo")
		}
		return nil

	case "image:push":
		if has {
			var a *types.AuthConfig
			if err := decode(&a); err != nil {
				return err
			}
		}
		return c.imageTarget(c.facts.Vars["name"], q.Get("tag"), "path:name")

	case "image:tag":
		return c.imageTarget(q.Get("repo"), q.Get("tag"), "query:repo")

	case "image:load":
		c.add(KindImageLoad, "tarball", "body")
		return nil

	case "image:build":
		return buildFacets(c, q)

	case "system:grpc":
		c.add(KindBuild, "buildkit", "grpc")
		return nil

	case "system:auth":
		if has {
			var a *types.AuthConfig
			return decode(&a)
		}
		return nil

	case "volume:create":
		var v *volume.VolumeCreateBody
		if err := decode(&v); err != nil {
			return err
		}
		if v == nil {
			return fmt.Errorf("%s: body is null: refusing", what)
		}
		c.facts.Labels = v.Labels
		return c.volumeDriver(v.Driver, v.DriverOpts, "")

	case "network:create":
		var n *types.NetworkCreateRequest
		if err := decode(&n); err != nil {
			return err
		}
		if n == nil {
			return fmt.Errorf("%s: body is null: refusing", what)
		}
		c.facts.Labels = n.Labels
		switch n.Driver {
		case "", "bridge", "overlay":
		default:
			c.add(KindNetworkDriver, n.Driver, "Driver")
		}
		return nil

	case "network:connect":
		var n *types.NetworkConnect
		if err := decode(&n); err != nil {
			return err
		}
		if n == nil {
			return fmt.Errorf("%s: body is null: refusing", what)
		}
		c.facts.Container = n.Container
		if strings.EqualFold(c.facts.Vars["id"], "host") {
			c.add(KindHostNS, "network", "path:id")
		}
		return nil

	case "network:disconnect":
		var n *types.NetworkDisconnect
		if err := decode(&n); err != nil {
			return err
		}
		if n != nil {
			c.facts.Container = n.Container
		}
		return nil

	case "service:create", "service:update":
		var s *swarm.ServiceSpec
		if err := decode(&s); err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("%s: body is null: refusing", what)
		}
		return serviceFacets(c, s)

	case "swarm:init":
		var r *swarm.InitRequest
		if err := decode(&r); err != nil {
			return err
		}
		c.add(KindSwarm, "init", "")
		return nil
	case "swarm:join":
		var r *swarm.JoinRequest
		if err := decode(&r); err != nil {
			return err
		}
		c.add(KindSwarm, "join", "")
		return nil
	case "swarm:update":
		var r *swarm.Spec
		if err := decode(&r); err != nil {
			return err
		}
		c.add(KindSwarm, "update", "")
		return nil
	case "swarm:unlock":
		var r *swarm.UnlockRequest
		if err := decode(&r); err != nil {
			return err
		}
		c.add(KindSwarm, "unlock", "")
		return nil
	case "swarm:leave":
		c.add(KindSwarm, "leave", "")
		return nil

	case "node:update":
		var n *swarm.NodeSpec
		return decode(&n)
	case "secret:create", "secret:update":
		var s *swarm.SecretSpec
		return decode(&s)
	case "config:create", "config:update":
		var s *swarm.ConfigSpec
		return decode(&s)

	case "plugin:install", "plugin:upgrade":
		var p types.PluginPrivileges
		if err := decode(&p); err != nil {
			return err
		}
		c.add(KindPlugin, strings.TrimPrefix(route.Name, "plugin:"), "")
		if len(p) > 0 {
			c.add(KindPrivileged, "plugin", "body")
		}
		return nil
	case "plugin:set":
		var args []string
		if err := decode(&args); err != nil {
			return err
		}
		c.add(KindPlugin, "set", "")
		return nil
	case "plugin:enable", "plugin:disable", "plugin:remove", "plugin:push", "plugin:create":
		c.add(KindPlugin, strings.TrimPrefix(route.Name, "plugin:"), "")
		return nil

	case "checkpoint:create":
		var o *types.CheckpointCreateOptions
		if err := decode(&o); err != nil {
			return err
		}
		if o != nil && o.CheckpointDir != "" {
			return c.hostPath(KindBind, o.CheckpointDir, "CheckpointDir")
		}
		return nil
	}
	// Routes without a body decoder: a JSON body dockerd ignores is still
	// required to be well-formed JSON.
	if has && route.Body != BodyStream {
		if err := StrictCheck(body, nil); err != nil {
			return fmt.Errorf("%s: %v", what, err)
		}
	}
	return nil
}
