package dockerargs

import (
	"encoding/csv"
	"fmt"
	"math/big"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/blkiodev"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/go-connections/nat"
	units "github.com/docker/go-units"
)

// containerFlags are the flags of docker run/create the translator knows.
var containerFlags = []flag{
	{long: "detach", short: "d"}, {long: "interactive", short: "i"}, {long: "tty", short: "t"},
	{long: "rm"}, {long: "privileged"}, {long: "read-only"}, {long: "init"}, {long: "oom-kill-disable"},
	{long: "publish-all", short: "P"},
	{long: "name", takesValue: true}, {long: "user", short: "u", takesValue: true},
	{long: "workdir", short: "w", takesValue: true}, {long: "hostname", short: "h", takesValue: true},
	{long: "domainname", takesValue: true}, {long: "entrypoint", takesValue: true},
	{long: "env", short: "e", takesValue: true}, {long: "label", short: "l", takesValue: true},
	{long: "volume", short: "v", takesValue: true}, {long: "mount", takesValue: true},
	{long: "tmpfs", takesValue: true}, {long: "publish", short: "p", takesValue: true},
	{long: "expose", takesValue: true}, {long: "cap-add", takesValue: true}, {long: "cap-drop", takesValue: true},
	{long: "security-opt", takesValue: true}, {long: "device", takesValue: true},
	{long: "device-cgroup-rule", takesValue: true}, {long: "gpus", takesValue: true},
	{long: "network", takesValue: true, aliases: []string{"net"}}, {long: "pid", takesValue: true},
	{long: "ipc", takesValue: true}, {long: "uts", takesValue: true}, {long: "userns", takesValue: true},
	{long: "cgroupns", takesValue: true}, {long: "sysctl", takesValue: true},
	{long: "cgroup-parent", takesValue: true}, {long: "runtime", takesValue: true},
	{long: "volumes-from", takesValue: true}, {long: "group-add", takesValue: true},
	{long: "restart", takesValue: true}, {long: "memory", short: "m", takesValue: true},
	{long: "memory-swap", takesValue: true}, {long: "memory-reservation", takesValue: true},
	{long: "cpus", takesValue: true}, {long: "cpu-quota", takesValue: true}, {long: "cpu-period", takesValue: true},
	{long: "cpu-shares", short: "c", takesValue: true}, {long: "cpuset-cpus", takesValue: true},
	{long: "pids-limit", takesValue: true}, {long: "shm-size", takesValue: true},
	{long: "ulimit", takesValue: true}, {long: "log-driver", takesValue: true}, {long: "log-opt", takesValue: true},
	{long: "add-host", takesValue: true}, {long: "dns", takesValue: true}, {long: "dns-search", takesValue: true},
	{long: "dns-option", takesValue: true}, {long: "stop-signal", takesValue: true},
	{long: "stop-timeout", takesValue: true}, {long: "volume-driver", takesValue: true},
}

// createWrapper is the body the CLI sends to POST /containers/create
// (client.ContainerCreate's configWrapper).
type createWrapper struct {
	*container.Config
	HostConfig       *container.HostConfig
	NetworkingConfig *network.NetworkingConfig
}

func containerCreate(cmd string, args []string, run bool) (*Request, error) {
	specs := containerFlags
	if !run {
		specs = removeFlag(specs, "detach")
	}
	fs, err := parseFlags(cmd, specs, args, false)
	if err != nil {
		return nil, err
	}
	if len(fs.args) == 0 {
		return nil, fmt.Errorf("docker %s: which image?", cmd)
	}
	bad := func(f, v string, err error) error {
		return fmt.Errorf("docker %s: --%s %q: %v", cmd, f, v, err)
	}
	detach := fs.has("detach")
	stdin := fs.has("interactive")

	cfg := &container.Config{
		Hostname: fs.last("hostname"), Domainname: fs.last("domainname"), User: fs.last("user"),
		AttachStdin: stdin && !detach, AttachStdout: !detach, AttachStderr: !detach,
		Tty: fs.has("tty"), OpenStdin: stdin, StdinOnce: stdin && !detach,
		Env: fs.all("env"), Image: fs.args[0], Volumes: map[string]struct{}{},
		WorkingDir: fs.last("workdir"), Labels: map[string]string{}, StopSignal: fs.last("stop-signal"),
	}
	if len(fs.args) > 1 {
		cfg.Cmd = strslice.StrSlice(fs.args[1:])
	}
	if fs.has("entrypoint") {
		cfg.Entrypoint = strslice.StrSlice{fs.last("entrypoint")}
	}
	if fs.has("stop-timeout") {
		n, err := strconv.Atoi(fs.last("stop-timeout"))
		if err != nil {
			return nil, bad("stop-timeout", fs.last("stop-timeout"), err)
		}
		cfg.StopTimeout = &n
	}
	for _, l := range fs.all("label") {
		k, v, _ := strings.Cut(l, "=")
		cfg.Labels[k] = v
	}

	hc := &container.HostConfig{
		LogConfig:     container.LogConfig{Type: fs.last("log-driver"), Config: map[string]string{}},
		NetworkMode:   container.NetworkMode("default"),
		RestartPolicy: container.RestartPolicy{Name: "no"},
		AutoRemove:    fs.has("rm"), VolumeDriver: fs.last("volume-driver"),
		VolumesFrom: fs.all("volumes-from"), CapAdd: fs.all("cap-add"), CapDrop: fs.all("cap-drop"),
		CgroupnsMode: container.CgroupnsMode(fs.last("cgroupns")),
		DNS:          orEmpty(fs.all("dns")), DNSOptions: orEmpty(fs.all("dns-option")), DNSSearch: orEmpty(fs.all("dns-search")),
		ExtraHosts: fs.all("add-host"), GroupAdd: fs.all("group-add"),
		IpcMode: container.IpcMode(fs.last("ipc")), PidMode: container.PidMode(fs.last("pid")),
		Privileged: fs.has("privileged"), PublishAllPorts: fs.has("publish-all"), ReadonlyRootfs: fs.has("read-only"),
		UTSMode: container.UTSMode(fs.last("uts")), UsernsMode: container.UsernsMode(fs.last("userns")),
		Runtime: fs.last("runtime"), ConsoleSize: [2]uint{0, 0},
	}
	hc.CgroupParent = fs.last("cgroup-parent")
	if fs.has("shm-size") {
		n, err := units.RAMInBytes(fs.last("shm-size"))
		if err != nil {
			return nil, bad("shm-size", fs.last("shm-size"), err)
		}
		hc.ShmSize = n
	}
	if fs.has("network") {
		hc.NetworkMode = container.NetworkMode(fs.last("network"))
	}
	if fs.has("init") {
		t := true
		hc.Init = &t
	}
	for _, o := range fs.all("log-opt") {
		k, v, _ := strings.Cut(o, "=")
		hc.LogConfig.Config[k] = v
	}
	if fs.has("restart") {
		name, count, hasCount := strings.Cut(fs.last("restart"), ":")
		hc.RestartPolicy.Name = name
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil {
				return nil, bad("restart", fs.last("restart"), err)
			}
			hc.RestartPolicy.MaximumRetryCount = n
		}
	}
	// Volumes: HOST:CTR[:opts] and NAME:CTR[:opts] are binds, a lone path
	// is an anonymous volume.
	for _, v := range fs.all("volume") {
		parts := strings.Split(v, ":")
		if len(parts) == 1 {
			cfg.Volumes[v] = struct{}{}
			continue
		}
		if src := parts[0]; strings.HasPrefix(src, ".") || strings.HasPrefix(src, "~") {
			return nil, bad("volume", v, fmt.Errorf("the CLI makes a relative host path absolute from its working directory; write the absolute path"))
		}
		hc.Binds = append(hc.Binds, v)
	}
	for _, m := range fs.all("mount") {
		mt, err := parseMount(m)
		if err != nil {
			return nil, bad("mount", m, err)
		}
		hc.Mounts = append(hc.Mounts, mt)
	}
	for _, t := range fs.all("tmpfs") {
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		p, o, _ := strings.Cut(t, ":")
		hc.Tmpfs[p] = o
	}
	// Ports.
	ports := fs.all("publish")
	exposed, bindings, err := nat.ParsePortSpecs(ports)
	if err != nil {
		return nil, bad("publish", strings.Join(ports, ","), err)
	}
	for _, e := range fs.all("expose") {
		proto, port := nat.SplitProtoPort(e)
		p, err := nat.NewPort(proto, port)
		if err != nil {
			return nil, bad("expose", e, err)
		}
		exposed[p] = struct{}{}
	}
	if len(exposed) > 0 {
		cfg.ExposedPorts = exposed
	}
	hc.PortBindings = bindings
	// Security options, as the CLI rewrites them.
	for _, o := range fs.all("security-opt") {
		key, val, ok := strings.Cut(o, "=")
		if !ok && o != "no-new-privileges" {
			key, val, ok = strings.Cut(o, ":")
			if !ok {
				return nil, bad("security-opt", o, fmt.Errorf("want KEY=VALUE"))
			}
		}
		switch {
		case key == "systempaths" && val == "unconfined":
			hc.MaskedPaths, hc.ReadonlyPaths = []string{}, []string{}
			if hc.SecurityOpt == nil {
				hc.SecurityOpt = []string{}
			}
			continue
		case key == "seccomp" && val != "unconfined":
			return nil, bad("security-opt", o, fmt.Errorf("the CLI inlines the seccomp profile file; write this case as a raw API request"))
		}
		hc.SecurityOpt = append(hc.SecurityOpt, o)
	}
	if len(fs.all("sysctl")) > 0 {
		hc.Sysctls = map[string]string{}
		for _, s := range fs.all("sysctl") {
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				return nil, bad("sysctl", s, fmt.Errorf("want KEY=VALUE"))
			}
			hc.Sysctls[k] = v
		}
	}
	if err := resources(cmd, fs, &hc.Resources, true); err != nil {
		return nil, err
	}
	body := createWrapper{Config: cfg, HostConfig: hc, NetworkingConfig: &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{}}}
	q := url.Values{}
	if fs.has("name") {
		q.Set("name", fs.last("name"))
	}
	return newRequest("POST", "/containers/create", q).withJSON(body)
}

func removeFlag(specs []flag, long string) []flag {
	var out []flag
	for _, s := range specs {
		if s.long != long {
			out = append(out, s)
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// resources fills the resource flags shared by run/create and update. For
// create the CLI always sends MemorySwappiness -1, PidsLimit and
// OomKillDisable, and empty device lists; for update only what was given.
func resources(cmd string, fs *flagSet, r *container.Resources, create bool) error {
	bad := func(f, v string, err error) error {
		return fmt.Errorf("docker %s: --%s %q: %v", cmd, f, v, err)
	}
	ram := func(name string, dst *int64) error {
		if !fs.has(name) {
			return nil
		}
		v := fs.last(name)
		if name == "memory-swap" && v == "-1" {
			*dst = -1
			return nil
		}
		n, err := units.RAMInBytes(v)
		if err != nil {
			return bad(name, v, err)
		}
		*dst = n
		return nil
	}
	for name, dst := range map[string]*int64{"memory": &r.Memory, "memory-swap": &r.MemorySwap, "memory-reservation": &r.MemoryReservation} {
		if err := ram(name, dst); err != nil {
			return err
		}
	}
	ints := map[string]*int64{"cpu-quota": &r.CPUQuota, "cpu-period": &r.CPUPeriod, "cpu-shares": &r.CPUShares}
	for name, dst := range ints {
		if fs.has(name) {
			n, err := strconv.ParseInt(fs.last(name), 10, 64)
			if err != nil {
				return bad(name, fs.last(name), err)
			}
			*dst = n
		}
	}
	if fs.has("cpus") {
		rat, ok := new(big.Rat).SetString(fs.last("cpus"))
		if !ok {
			return bad("cpus", fs.last("cpus"), fmt.Errorf("not a number"))
		}
		nano := rat.Mul(rat, big.NewRat(1e9, 1))
		if !nano.IsInt() {
			return bad("cpus", fs.last("cpus"), fmt.Errorf("too precise"))
		}
		r.NanoCPUs = nano.Num().Int64()
	}
	r.CpusetCpus = fs.last("cpuset-cpus")
	if fs.has("pids-limit") {
		n, err := strconv.ParseInt(fs.last("pids-limit"), 10, 64)
		if err != nil {
			return bad("pids-limit", fs.last("pids-limit"), err)
		}
		r.PidsLimit = &n
	}
	if !create {
		return nil
	}
	if r.PidsLimit == nil {
		var zero int64
		r.PidsLimit = &zero
	}
	swappiness := int64(-1)
	r.MemorySwappiness = &swappiness
	oom := fs.has("oom-kill-disable")
	r.OomKillDisable = &oom
	r.BlkioWeightDevice = []*blkiodev.WeightDevice{}
	r.Devices = []container.DeviceMapping{}
	for _, d := range fs.all("device") {
		parts := strings.Split(d, ":")
		dm := container.DeviceMapping{PathOnHost: parts[0], PathInContainer: parts[0], CgroupPermissions: "rwm"}
		switch len(parts) {
		case 1:
		case 2:
			if isPerm(parts[1]) {
				dm.CgroupPermissions = parts[1]
			} else {
				dm.PathInContainer = parts[1]
			}
		case 3:
			dm.PathInContainer, dm.CgroupPermissions = parts[1], parts[2]
			if !isPerm(parts[2]) {
				return bad("device", d, fmt.Errorf("bad permissions"))
			}
		default:
			return bad("device", d, fmt.Errorf("want HOST[:CONTAINER[:PERMS]]"))
		}
		r.Devices = append(r.Devices, dm)
	}
	r.DeviceCgroupRules = fs.all("device-cgroup-rule")
	if fs.has("gpus") {
		g := fs.last("gpus")
		req := container.DeviceRequest{Capabilities: [][]string{{"gpu"}}, Options: map[string]string{}}
		if g == "all" {
			req.Count = -1
		} else if n, err := strconv.Atoi(g); err == nil && n > 0 {
			req.Count = n
		} else {
			return bad("gpus", g, fmt.Errorf("the translator understands all or a count; write this case as a raw API request"))
		}
		r.DeviceRequests = []container.DeviceRequest{req}
	}
	for _, u := range fs.all("ulimit") {
		pu, err := units.ParseUlimit(u)
		if err != nil {
			return bad("ulimit", u, err)
		}
		r.Ulimits = append(r.Ulimits, pu)
	}
	return nil
}

func isPerm(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c != 'r' && c != 'w' && c != 'm' {
			return false
		}
	}
	return true
}

// parseMount parses --mount type=bind,src=/,dst=/h like the CLI's MountOpt.
func parseMount(v string) (mount.Mount, error) {
	r := csv.NewReader(strings.NewReader(v))
	fields, err := r.Read()
	if err != nil {
		return mount.Mount{}, err
	}
	m := mount.Mount{Type: mount.TypeVolume}
	volOpts := func() *mount.VolumeOptions {
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		return m.VolumeOptions
	}
	for _, f := range fields {
		key, val, hasVal := strings.Cut(f, "=")
		key = strings.ToLower(key)
		boolVal := func() (bool, error) {
			if !hasVal {
				return true, nil
			}
			return strconv.ParseBool(val)
		}
		switch key {
		case "type":
			m.Type = mount.Type(strings.ToLower(val))
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			if m.ReadOnly, err = boolVal(); err != nil {
				return m, fmt.Errorf("bad %s", key)
			}
		case "bind-propagation":
			m.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(strings.ToLower(val))}
		case "volume-nocopy":
			b, err := boolVal()
			if err != nil {
				return m, fmt.Errorf("bad volume-nocopy")
			}
			volOpts().NoCopy = b
		case "volume-driver":
			volOpts().DriverConfig = &mount.Driver{Name: val}
		case "volume-opt":
			o := volOpts()
			if o.DriverConfig == nil {
				o.DriverConfig = &mount.Driver{}
			}
			if o.DriverConfig.Options == nil {
				o.DriverConfig.Options = map[string]string{}
			}
			k, vv, _ := strings.Cut(val, "=")
			o.DriverConfig.Options[k] = vv
		case "volume-label":
			o := volOpts()
			if o.Labels == nil {
				o.Labels = map[string]string{}
			}
			k, vv, _ := strings.Cut(val, "=")
			o.Labels[k] = vv
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil {
				return m, fmt.Errorf("bad tmpfs-size")
			}
			if m.TmpfsOptions == nil {
				m.TmpfsOptions = &mount.TmpfsOptions{}
			}
			m.TmpfsOptions.SizeBytes = n
		default:
			return m, fmt.Errorf("mount option %q is not understood by the translator", key)
		}
	}
	if m.Target == "" {
		return m, fmt.Errorf("target is required")
	}
	if m.Type == mount.TypeBind && !path.IsAbs(m.Source) {
		return m, fmt.Errorf("a bind mount needs an absolute source")
	}
	return m, nil
}

func containerExec(cmd string, args []string) (*Request, error) {
	fs, err := parseFlags(cmd, []flag{
		{long: "detach", short: "d"}, {long: "interactive", short: "i"}, {long: "tty", short: "t"},
		{long: "privileged"}, {long: "user", short: "u", takesValue: true}, {long: "workdir", short: "w", takesValue: true},
		{long: "env", short: "e", takesValue: true}, {long: "detach-keys", takesValue: true},
	}, args, false)
	if err != nil {
		return nil, err
	}
	if len(fs.args) < 2 {
		return nil, fmt.Errorf("docker %s: want CONTAINER COMMAND [ARG...]", cmd)
	}
	detach := fs.has("detach")
	body := types.ExecConfig{
		User: fs.last("user"), Privileged: fs.has("privileged"), Tty: fs.has("tty"),
		AttachStdin: fs.has("interactive") && !detach, AttachStderr: !detach, AttachStdout: !detach,
		Detach: detach, DetachKeys: fs.last("detach-keys"), Env: fs.all("env"), WorkingDir: fs.last("workdir"),
		Cmd: fs.args[1:],
	}
	return newRequest("POST", "/containers/"+pathEscape(fs.args[0])+"/exec", nil).withJSON(body)
}

func containerUpdate(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "memory", short: "m", takesValue: true}, {long: "memory-swap", takesValue: true},
		{long: "memory-reservation", takesValue: true}, {long: "cpus", takesValue: true},
		{long: "cpu-quota", takesValue: true}, {long: "cpu-period", takesValue: true},
		{long: "cpu-shares", short: "c", takesValue: true}, {long: "cpuset-cpus", takesValue: true},
		{long: "pids-limit", takesValue: true}, {long: "restart", takesValue: true},
	}, args, 1, 1, "one container (one case per container)")
	if err != nil {
		return nil, err
	}
	var u container.UpdateConfig
	if err := resources(cmd, fs, &u.Resources, false); err != nil {
		return nil, err
	}
	if fs.has("restart") {
		name, count, hasCount := strings.Cut(fs.last("restart"), ":")
		u.RestartPolicy.Name = name
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil {
				return nil, fmt.Errorf("docker %s: --restart %q: %v", cmd, fs.last("restart"), err)
			}
			u.RestartPolicy.MaximumRetryCount = n
		}
	}
	return newRequest("POST", "/containers/"+pathEscape(fs.args[0])+"/update", nil).withJSON(u)
}
