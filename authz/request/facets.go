package request

import (
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// collector accumulates facets, dropping exact duplicates (same kind and
// value; the first source wins) and keeping first-seen order.
type collector struct {
	facts *Facts
}

func (c *collector) add(kind, value, source string) {
	for _, f := range c.facts.Facets {
		if f.Kind == kind && f.Value == value {
			return
		}
	}
	c.facts.Facets = append(c.facts.Facets, Facet{Kind: kind, Value: value, Source: source})
}

// hostPath raises kind with the cleaned absolute host path p.
func (c *collector) hostPath(kind, p, source string) error {
	if p == "" {
		return fmt.Errorf("%s: empty host path for a bind mount: refusing", source)
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%s: host path %q of a bind mount is not absolute: refusing", source, p)
	}
	c.add(kind, path.Clean(p), source)
	return nil
}

// joinSrc is the source prefix.field ("field" when prefix is empty).
func joinSrc(prefix, field string) string {
	if prefix == "" {
		return field
	}
	if prefix == "HostConfig" {
		if s, ok := hostConfigSources[field]; ok {
			return s
		}
	}
	return prefix + "." + field
}

// hostConfigSources holds "HostConfig."+field, built once, for the fields
// whose source every container create computes (see hostConfigFacets,
// restrictedResources): one map lookup instead of a new string each time.
var hostConfigSources = func() map[string]string {
	m := map[string]string{}
	for _, f := range []string{
		"Privileged", "VolumeDriver", "NetworkMode", "PidMode", "IpcMode", "UTSMode",
		"UsernsMode", "CgroupnsMode", "Cgroup", "SecurityOpt", "MaskedPaths",
		"ReadonlyPaths", "Runtime", "CapDrop", "Memory", "NanoCpus", "CpuQuota",
		"PidsLimit", "CgroupParent", "OomKillDisable",
	} {
		m[f] = "HostConfig." + f
	}
	return m
}()

// createFacets raises the facets of a container create body.
func createFacets(c *collector, b *createBody) error {
	cfg := b.Config
	if cfg == nil {
		cfg = &container.Config{}
	}
	c.facts.Labels = cfg.Labels
	if cfg.Image != "" {
		v, err := NormalizeImage(cfg.Image)
		if err != nil {
			return fmt.Errorf("Image: %v: refusing", err)
		}
		c.add(KindImage, v, "Image")
	}
	// Config.Volumes keys are container paths of anonymous volumes; a key
	// with a host part is not something dockerd 20.10 binds, but no honest
	// client sends one: treat it as the bind it looks like.
	for _, k := range sortedKeys(cfg.Volumes) {
		if strings.Contains(k, ":") {
			if src, _, _ := strings.Cut(k, ":"); strings.HasPrefix(src, "/") {
				c.add(KindBind, path.Clean(src), "Volumes["+strconv.Quote(k)+"]")
			}
		}
	}
	if err := hostConfigsFacets(c, b); err != nil {
		return err
	}
	endpointRefs(c, b.NetworkingConfig)
	if b.NetworkingConfig != nil {
		for _, name := range sortedKeys(b.NetworkingConfig.EndpointsConfig) {
			if strings.EqualFold(name, "host") {
				c.add(KindHostNS, "network", "NetworkingConfig.EndpointsConfig[\"host\"]")
			}
		}
	}

	// Restricted-profile facets: always raised on create.
	hc, prefix := effectiveHostConfig(b)
	c.add(KindUser, cfg.User, "User")
	c.add(KindCapDrop, capDropValue(hc.CapDrop), joinSrc(prefix, "CapDrop"))
	nnp, err := noNewPrivileges(hc.SecurityOpt)
	if err != nil {
		return err
	}
	c.add(KindNoNewPrivs, strconv.FormatBool(nnp), joinSrc(prefix, "SecurityOpt"))
	c.restrictedResources(&hc.Resources, prefix)
	return nil
}

// effectiveHostConfig computes the host config dockerd uses, as runconfig's
// getHostConfig does, and the JSON path prefix it came from.
func effectiveHostConfig(b *createBody) (*container.HostConfig, string) {
	legacy, inner := b.HostConfig, b.InnerHostConfig
	switch {
	case inner == nil && legacy == nil:
		return &container.HostConfig{}, "HostConfig"
	case inner == nil:
		return legacy, ""
	case legacy == nil:
		return inner, "HostConfig"
	}
	merged := *inner
	if legacy.Memory != 0 && merged.Memory == 0 {
		merged.Memory = legacy.Memory
	}
	if legacy.MemorySwap != 0 && merged.MemorySwap == 0 {
		merged.MemorySwap = legacy.MemorySwap
	}
	if legacy.CPUShares != 0 && merged.CPUShares == 0 {
		merged.CPUShares = legacy.CPUShares
	}
	if legacy.CpusetCpus != "" && merged.CpusetCpus == "" {
		merged.CpusetCpus = legacy.CpusetCpus
	}
	if legacy.VolumeDriver != "" && merged.VolumeDriver == "" {
		merged.VolumeDriver = legacy.VolumeDriver
	}
	return &merged, "HostConfig"
}

// hostConfigsFacets raises the escalation facets of the effective host
// config of a create (or old start) body. dockerd ignores top-level
// HostConfig fields when a HostConfig object is present (but for the five
// merged ones); their escalations are raised anyway: the plugin must never
// be the one that guessed wrong.
func hostConfigsFacets(c *collector, b *createBody) error {
	hc, prefix := effectiveHostConfig(b)
	if err := hostConfigFacets(c, hc, prefix); err != nil {
		return err
	}
	if b.InnerHostConfig != nil && b.HostConfig != nil {
		return hostConfigFacets(c, b.HostConfig, "")
	}
	return nil
}

// hostConfigFacets raises the escalation facets of a HostConfig. prefix is
// the JSON path of the host config ("HostConfig", or "" for top-level legacy
// fields).
func hostConfigFacets(c *collector, hc *container.HostConfig, prefix string) error {
	src := func(f string) string { return joinSrc(prefix, f) }
	if hc.Privileged {
		c.add(KindPrivileged, "container", src("Privileged"))
	}
	for i, spec := range hc.Binds {
		s := src("Binds[" + strconv.Itoa(i) + "]")
		bsrc, err := parseBindSource(spec)
		if err != nil {
			return fmt.Errorf("%s: %v: refusing", s, err)
		}
		switch {
		case bsrc == "":
			// destination only: an anonymous volume
		case strings.HasPrefix(bsrc, "/"):
			c.add(KindBind, path.Clean(bsrc), s)
		default:
			c.add(KindVolume, bsrc, s)
		}
	}
	if d := hc.VolumeDriver; d != "" && d != "local" {
		c.add(KindVolumeDriver, d, src("VolumeDriver"))
	}
	for i, m := range hc.Mounts {
		if err := mountFacets(c, m, src("Mounts["+strconv.Itoa(i)+"]")); err != nil {
			return err
		}
	}
	for i, v := range hc.VolumesFrom {
		c.add(KindVolumesFrom, v, src("VolumesFrom["+strconv.Itoa(i)+"]"))
	}
	for i, cp := range hc.CapAdd {
		c.add(KindCap, normalizeCap(cp), src("CapAdd["+strconv.Itoa(i)+"]"))
	}
	nsFacet(c, "network", string(hc.NetworkMode), src("NetworkMode"))
	hostConfigRefs(c, hc, src) // not facets: the ownership checks resolve them
	nsFacet(c, "pid", string(hc.PidMode), src("PidMode"))
	nsFacet(c, "ipc", string(hc.IpcMode), src("IpcMode"))
	nsFacet(c, "uts", string(hc.UTSMode), src("UTSMode"))
	nsFacet(c, "userns", string(hc.UsernsMode), src("UsernsMode"))
	nsFacet(c, "cgroupns", string(hc.CgroupnsMode), src("CgroupnsMode"))
	nsFacet(c, "cgroup", string(hc.Cgroup), src("Cgroup"))
	if err := securityOptFacets(c, hc.SecurityOpt, src("SecurityOpt")); err != nil {
		return err
	}
	if hc.MaskedPaths != nil && !containsAll(hc.MaskedPaths, defaultMaskedPaths) {
		c.add(KindUnconfined, "maskedpaths", src("MaskedPaths"))
	}
	if hc.ReadonlyPaths != nil && !containsAll(hc.ReadonlyPaths, defaultReadonlyPaths) {
		c.add(KindUnconfined, "readonlypaths", src("ReadonlyPaths"))
	}
	for _, k := range sortedKeys(hc.Sysctls) {
		c.add(KindSysctl, normalizeSysctl(k), src("Sysctls["+strconv.Quote(k)+"]"))
	}
	if hc.Runtime != "" {
		c.add(KindRuntime, hc.Runtime, src("Runtime"))
	}
	return resourceFacets(c, &hc.Resources, prefix)
}

// resourceFacets raises the escalation facets found in Resources (shared by
// create and update).
func resourceFacets(c *collector, r *container.Resources, prefix string) error {
	src := func(f string) string { return joinSrc(prefix, f) }
	for i, d := range r.Devices {
		s := src("Devices[" + strconv.Itoa(i) + "]")
		if d.PathOnHost == "" {
			return fmt.Errorf("%s: device without PathOnHost: refusing", s)
		}
		c.add(KindDevice, d.PathOnHost, s)
	}
	for i, rule := range r.DeviceCgroupRules {
		c.add(KindDeviceCgroup, rule, src("DeviceCgroupRules["+strconv.Itoa(i)+"]"))
	}
	for i, dr := range r.DeviceRequests {
		s := src("DeviceRequests[" + strconv.Itoa(i) + "]")
		v := dr.Driver
		if v == "" {
			var caps []string
			for _, and := range dr.Capabilities {
				caps = append(caps, strings.Join(and, "+"))
			}
			v = strings.Join(caps, ",")
		}
		if v == "" {
			v = "gpu"
		}
		c.add(KindDeviceRequest, v, s)
	}
	if r.CgroupParent != "" {
		c.add(KindCgroupParent, r.CgroupParent, src("CgroupParent"))
	}
	if r.OomKillDisable != nil && *r.OomKillDisable {
		c.add(KindOomKillDisable, "true", src("OomKillDisable"))
	}
	return nil
}

// restrictedResources raises memory, cpus and pids-limit.
func (c *collector) restrictedResources(r *container.Resources, prefix string) {
	c.add(KindMemory, strconv.FormatInt(max(r.Memory, 0), 10), joinSrc(prefix, "Memory"))
	cpus := r.NanoCPUs
	src := joinSrc(prefix, "NanoCpus")
	if cpus == 0 && r.CPUQuota > 0 {
		period := r.CPUPeriod
		if period <= 0 {
			period = 100000 // the kernel's default CFS period (µs)
		}
		cpus = r.CPUQuota * 1_000_000_000 / period
		src = joinSrc(prefix, "CpuQuota")
	}
	c.add(KindCPUs, strconv.FormatInt(max(cpus, 0), 10), src)
	var pids int64
	if r.PidsLimit != nil && *r.PidsLimit > 0 {
		pids = *r.PidsLimit
	}
	c.add(KindPidsLimit, strconv.FormatInt(pids, 10), joinSrc(prefix, "PidsLimit"))
}

// parseBindSource splits a Binds entry like dockerd's Linux volume parser
// (volume/mounts/linux_parser.go): at most three ':'-separated parts,
// [source:]destination[:mode]; "" is returned for destination-only specs.
func parseBindSource(spec string) (string, error) {
	if strings.Count(spec, ":") > 2 {
		return "", fmt.Errorf("bind spec %q has more than two ':'", spec)
	}
	arr := strings.SplitN(spec, ":", 3)
	if arr[0] == "" {
		return "", fmt.Errorf("bind spec %q has an empty source", spec)
	}
	switch len(arr) {
	case 1:
		return "", nil
	case 2:
		if validMountMode(arr[1]) {
			return "", fmt.Errorf("bind spec %q: a destination with a mode but no source is invalid", spec)
		}
		return arr[0], nil
	default:
		if !validMountMode(arr[2]) {
			return "", fmt.Errorf("bind spec %q: invalid mode %q", spec, arr[2])
		}
		return arr[0], nil
	}
}

// validMountMode is linuxValidMountMode of dockerd 20.10.
func validMountMode(mode string) bool {
	if mode == "" {
		return true
	}
	rw, label, prop, copy := 0, 0, 0, 0
	for _, o := range strings.Split(mode, ",") {
		switch o {
		case "rw", "ro":
			rw++
		case "z", "Z":
			label++
		case "shared", "rshared", "slave", "rslave", "private", "rprivate":
			prop++
		case "nocopy":
			copy++
		default:
			return false
		}
	}
	return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1
}

func mountFacets(c *collector, m mount.Mount, s string) error {
	switch m.Type {
	case mount.TypeBind:
		return c.hostPath(KindBind, m.Source, s+".Source")
	case mount.TypeVolume:
		if m.Source != "" {
			c.add(KindVolume, m.Source, s+".Source")
		}
		if m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
			dc := m.VolumeOptions.DriverConfig
			return c.volumeDriver(dc.Name, dc.Options, s+".VolumeOptions.DriverConfig")
		}
		return nil
	case mount.TypeTmpfs:
		return nil
	case "":
		return fmt.Errorf("%s.Type is empty: refusing", s)
	default:
		return fmt.Errorf("%s.Type %q is not a mount type dockerd accepts on Linux (bind, volume, tmpfs): refusing", s, m.Type)
	}
}

// volumeDriver raises facets for a volume driver and its options: any
// driver but local is a volume-driver facet; the local driver mounts
// o/type/device with mount(2), so type=none or o=bind/rbind is a host bind
// of device, and another type with an absolute device mounts a host device.
func (c *collector) volumeDriver(driver string, opts map[string]string, s string) error {
	if driver != "" && driver != "local" {
		c.add(KindVolumeDriver, driver, joinSrc(s, "Name"))
		return nil
	}
	var typ, o, dev string
	var hasType, hasO, hasDev bool
	for _, k := range sortedKeys(opts) {
		v := opts[k]
		switch k {
		case "type":
			typ, hasType = v, true
		case "o":
			o, hasO = v, true
		case "device":
			dev, hasDev = v, true
		case "size":
		default:
			return fmt.Errorf("%s: local volume driver option %q is not one of type, o, device, size: refusing", joinSrc(s, "DriverOpts"), k)
		}
	}
	if !hasType && !hasO && !hasDev {
		return nil
	}
	bind := typ == "none"
	for _, opt := range strings.Split(o, ",") {
		if opt == "bind" || opt == "rbind" {
			bind = true
		}
	}
	src := joinSrc(s, "DriverOpts[\"device\"]")
	switch {
	case bind:
		return c.hostPath(KindBind, dev, src)
	case strings.HasPrefix(dev, "/"):
		c.add(KindDevice, path.Clean(dev), src)
	case hasDev && dev != "" && typ == "":
		return fmt.Errorf("%s: local volume device %q without a type: refusing", src, dev)
	}
	_ = hasType
	_ = hasO
	return nil
}

// nsFacet raises hostns for "host" and container-ns for "container:<id>".
func nsFacet(c *collector, ns, mode, s string) {
	switch {
	case mode == "":
	case strings.EqualFold(mode, "host"):
		if ns == "cgroup" {
			return // HostConfig.Cgroup has no host form
		}
		c.add(KindHostNS, ns, s)
	case strings.HasPrefix(strings.ToLower(mode), "container:"):
		c.add(KindContainerNS, ns+":"+mode, s)
	}
}

func normalizeCap(s string) string {
	u := strings.ToUpper(s)
	return strings.TrimPrefix(u, "CAP_")
}

func capDropValue(caps []string) string {
	if len(caps) == 0 {
		return "none"
	}
	for _, c := range caps {
		if normalizeCap(c) == "ALL" {
			return "all"
		}
	}
	return "partial"
}

func normalizeSysctl(k string) string {
	return strings.ToLower(strings.ReplaceAll(k, "/", "."))
}

// Docker's default masked and read-only paths (oci/defaults.go, 20.10).
var (
	defaultMaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	}
	defaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

func containsAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if path.Clean(h) == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// splitSecurityOpt splits one SecurityOpt entry like dockerd's
// parseSecurityOpt: "=" first, else ":" (deprecated form).
func splitSecurityOpt(opt string) (key, val string, ok bool) {
	if i := strings.IndexByte(opt, '='); i >= 0 {
		return opt[:i], opt[i+1:], true
	}
	if i := strings.IndexByte(opt, ':'); i >= 0 {
		return opt[:i], opt[i+1:], true
	}
	return "", "", false
}

// securityOptFacets raises unconfined facets for SecurityOpt entries and
// refuses entries dockerd would not understand.
func securityOptFacets(c *collector, opts []string, s string) error {
	for i, opt := range opts {
		si := s + "[" + strconv.Itoa(i) + "]"
		switch opt {
		case "no-new-privileges":
			continue
		case "disable": // dockerd: label disable
			c.add(KindUnconfined, "label", si)
			continue
		}
		k, v, ok := splitSecurityOpt(opt)
		if !ok {
			return fmt.Errorf("%s: security option %q is not key=value: refusing", si, opt)
		}
		switch k {
		case "seccomp":
			switch v {
			case "unconfined":
				c.add(KindUnconfined, "seccomp", si)
			case "":
				return fmt.Errorf("%s: empty seccomp profile: refusing", si)
			default:
				c.add(KindUnconfined, "seccomp-profile", si)
			}
		case "apparmor":
			if v != "docker-default" {
				c.add(KindUnconfined, "apparmor", si)
			}
		case "label":
			lk, _, _ := strings.Cut(v, ":")
			switch lk {
			case "disable", "type":
				c.add(KindUnconfined, "label", si)
			case "user", "role", "level", "filetype", "nested":
			default:
				return fmt.Errorf("%s: unknown label option %q: refusing", si, v)
			}
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: no-new-privileges value %q is not a boolean: refusing", si, v)
			}
			if !b {
				// An explicit false overrides a daemon-wide
				// "no-new-privileges": true, giving setuid binaries back.
				c.add(KindUnconfined, "no-new-privileges", si)
			}
		case "systempaths":
			if v == "unconfined" {
				c.add(KindUnconfined, "systempaths", si)
			} else {
				return fmt.Errorf("%s: unknown systempaths value %q: refusing", si, v)
			}
		default:
			return fmt.Errorf("%s: unknown security option %q: refusing", si, opt)
		}
	}
	return nil
}

// noNewPrivileges computes the effective no-new-privileges flag (the last
// entry wins, as in dockerd's loop).
func noNewPrivileges(opts []string) (bool, error) {
	nnp := false
	for _, opt := range opts {
		if opt == "no-new-privileges" {
			nnp = true
			continue
		}
		k, v, ok := splitSecurityOpt(opt)
		if ok && k == "no-new-privileges" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return false, fmt.Errorf("SecurityOpt: no-new-privileges value %q is not a boolean: refusing", v)
			}
			nnp = b
		}
	}
	return nnp, nil
}

// imageTarget raises an image facet for a name an image gets (tag, commit,
// import, push, build t): repo normalised, tag from the tag parameter (which
// replaces a tag in repo, as dockerd's reference.WithTag does), ":latest"
// when neither gives one.
func (c *collector) imageTarget(repo, tag, s string) error {
	if repo == "" {
		return fmt.Errorf("%s: empty image name: refusing", s)
	}
	r, err := ParseImageRef(repo)
	if err != nil {
		return fmt.Errorf("%s: %v: refusing", s, err)
	}
	if tag != "" {
		if !validTag(tag) {
			return fmt.Errorf("%s: invalid tag %q: refusing", s, tag)
		}
		r.Tag = tag
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = "latest"
	}
	c.add(KindImage, r.String(), s)
	return nil
}

// pullImage mirrors dockerd's PullImage: a trailing ':' is trimmed; the tag
// parameter, when set, is a digest or replaces the tag; with neither tag nor
// digest dockerd pulls every tag of the repository, and the facet value is
// the bare name.
func (c *collector) pullImage(img, tag string) error {
	img = strings.TrimSuffix(img, ":")
	r, err := ParseImageRef(img)
	if err != nil {
		return fmt.Errorf("query:fromImage: %v: refusing", err)
	}
	if tag != "" {
		if strings.Contains(tag, ":") {
			if !validDigest(tag) {
				return fmt.Errorf("query:tag: invalid digest %q: refusing", tag)
			}
			r.Tag, r.Digest = "", tag
		} else {
			if !validTag(tag) {
				return fmt.Errorf("query:tag: invalid tag %q: refusing", tag)
			}
			r.Tag = tag
		}
	}
	c.add(KindImage, r.String(), "query:fromImage")
	return nil
}

// withoutUserinfo drops the user information (often a token:
// https://user:TOKEN@host/repo.git) from a build remote: facet values reach
// the audit trail, deny messages and logs, and a policy decides on where a
// build comes from, never on whose credentials fetch it.
func withoutUserinfo(remote string) string {
	rest, prefix := remote, ""
	if i := strings.Index(remote, "://"); i >= 0 {
		prefix, rest = remote[:i+3], remote[i+3:]
	}
	// The authority ends at the first '/' (URLs) or ':' path separator
	// after the '@' (scp-like git remotes); userinfo is what precedes its
	// last '@'.
	authority := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		authority = rest[:j]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		return prefix + rest[at+1:]
	}
	return remote
}

// buildFacets raises the facets of POST /build from its query.
func buildFacets(c *collector, q url.Values) error {
	if remote := q.Get("remote"); remote != "" {
		c.add(KindBuild, "remote:"+withoutUserinfo(remote), "query:remote")
	} else {
		c.add(KindBuild, "context", "body")
	}
	for _, t := range q["t"] {
		if err := c.imageTarget(t, "", "query:t"); err != nil {
			return err
		}
	}
	nsFacet(c, "network", q.Get("networkmode"), "query:networkmode")
	if cp := q.Get("cgroupparent"); cp != "" {
		c.add(KindCgroupParent, cp, "query:cgroupparent")
	}
	return securityOptFacets(c, q["securityopt"], "query:securityopt")
}

// serviceFacets raises the facets of a swarm service spec.
func serviceFacets(c *collector, s *swarm.ServiceSpec) error {
	tt := s.TaskTemplate
	serviceRefs(c, s)
	for i, n := range tt.Networks {
		if strings.EqualFold(n.Target, "host") {
			c.add(KindHostNS, "network", "TaskTemplate.Networks["+strconv.Itoa(i)+"].Target")
		}
	}
	for i, n := range s.Networks { //nolint:staticcheck // deprecated but still honoured by dockerd 20.10
		if strings.EqualFold(n.Target, "host") {
			c.add(KindHostNS, "network", "Networks["+strconv.Itoa(i)+"].Target")
		}
	}
	if tt.PluginSpec != nil {
		c.add(KindPlugin, "install", "TaskTemplate.PluginSpec")
		if len(tt.PluginSpec.Privileges) > 0 {
			c.add(KindPrivileged, "plugin", "TaskTemplate.PluginSpec.Privileges")
		}
	}
	cs := tt.ContainerSpec
	if cs == nil {
		return nil
	}
	const p = "TaskTemplate.ContainerSpec"
	if cs.Image != "" {
		v, err := NormalizeImage(cs.Image)
		if err != nil {
			return fmt.Errorf("%s.Image: %v: refusing", p, err)
		}
		c.add(KindImage, v, p+".Image")
	}
	for i, m := range cs.Mounts {
		if err := mountFacets(c, m, p+".Mounts["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	for i, cp := range cs.CapabilityAdd {
		c.add(KindCap, normalizeCap(cp), p+".CapabilityAdd["+strconv.Itoa(i)+"]")
	}
	for _, k := range sortedKeys(cs.Sysctls) {
		c.add(KindSysctl, normalizeSysctl(k), p+".Sysctls["+strconv.Quote(k)+"]")
	}
	if cs.Privileges != nil && cs.Privileges.SELinuxContext != nil {
		sc := cs.Privileges.SELinuxContext
		if sc.Disable || sc.Type != "" {
			c.add(KindUnconfined, "label", p+".Privileges.SELinuxContext")
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
