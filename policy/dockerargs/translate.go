package dockerargs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
	units "github.com/docker/go-units"

	"github.com/docker-authz/docker-authz/authz/request"
)

// APIVersion is the API version the translated requests carry, the one the
// docker CLI 20.10 negotiates with dockerd 20.10.
const APIVersion = "1.41"

// Request is one Docker API request as dockerd forwards it to an
// authorization plugin.
type Request struct {
	Method  string            `json:"method"`
	URI     string            `json:"uri"`               // /v1.41/path?query
	Headers map[string]string `json:"headers,omitempty"` // Content-Type, as the CLI sends it
	Body    []byte            `json:"body,omitempty"`    // the JSON body dockerd forwards; nil when none
}

// Raw returns the request in the form request.Normalize takes.
func (r *Request) Raw() request.Raw {
	return request.Raw{Method: r.Method, URI: r.URI, Headers: r.Headers, Body: r.Body}
}

// Translate returns the request that decides the docker command args
// (without the leading "docker"), e.g. ["run", "--privileged", "alpine"].
func Translate(args []string) (*Request, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("no docker command given")
	}
	if strings.HasPrefix(args[0], "-") {
		return nil, fmt.Errorf("docker global option %s is not understood by the translator: give the command only (run, exec, pull, ...)", args[0])
	}
	cmd, rest := args[0], args[1:]
	// Management commands: "container run" is "run", "image ls" is "images", ...
	if alias, ok := managementAliases[cmd]; ok {
		if len(rest) == 0 {
			return nil, fmt.Errorf("docker %s: which subcommand?", cmd)
		}
		full := cmd + " " + rest[0]
		if to, ok := alias[rest[0]]; ok {
			if t, ok := commands[to]; ok {
				return t(full, rest[1:])
			}
		}
		if t, ok := commands[full]; ok {
			return t(full, rest[1:])
		}
		return nil, fmt.Errorf("docker %s is not understood by the translator; write this case as a raw API request", full)
	}
	t, ok := commands[cmd]
	if !ok {
		return nil, fmt.Errorf("docker %s is not understood by the translator (known: %s); write this case as a raw API request", cmd, strings.Join(Commands(), ", "))
	}
	return t(cmd, rest)
}

// Commands lists the command lines Translate understands.
func Commands() []string {
	var out []string
	for c := range commands {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

type translator func(cmd string, args []string) (*Request, error)

var commands map[string]translator

func init() {
	commands = map[string]translator{
		"run":                func(c string, a []string) (*Request, error) { return containerCreate(c, a, true) },
		"create":             func(c string, a []string) (*Request, error) { return containerCreate(c, a, false) },
		"exec":               containerExec,
		"update":             containerUpdate,
		"pull":               imagePull,
		"push":               imagePush,
		"tag":                imageTag,
		"build":              imageBuild,
		"load":               imageLoad,
		"import":             imageImport,
		"commit":             containerCommit,
		"cp":                 containerCp,
		"start":              onContainer("POST", "start", nil),
		"stop":               onContainer("POST", "stop", []flag{{long: "time", short: "t", takesValue: true}}),
		"restart":            onContainer("POST", "restart", []flag{{long: "time", short: "t", takesValue: true}}),
		"kill":               onContainer("POST", "kill", []flag{{long: "signal", short: "s", takesValue: true}}),
		"pause":              onContainer("POST", "pause", nil),
		"unpause":            onContainer("POST", "unpause", nil),
		"wait":               onContainer("POST", "wait", nil),
		"attach":             onContainer("POST", "attach", nil),
		"top":                onContainer("GET", "top", nil),
		"diff":               onContainer("GET", "changes", nil),
		"export":             onContainer("GET", "export", nil),
		"port":               onContainer("GET", "json", nil),
		"logs":               containerLogs,
		"rm":                 containerRm,
		"rename":             containerRename,
		"container inspect":  onContainer("GET", "json", nil),
		"rmi":                imageRm,
		"history":            onImage("GET", "history"),
		"image inspect":      onImage("GET", "json"),
		"ps":                 containerList,
		"images":             imageList,
		"info":               simple("GET", "/info"),
		"version":            simple("GET", "/version"),
		"system df":          simple("GET", "/system/df"),
		"container prune":    prune("/containers/prune", false),
		"image prune":        prune("/images/prune", true),
		"volume prune":       prune("/volumes/prune", false),
		"network prune":      prune("/networks/prune", false),
		"volume create":      volumeCreate,
		"volume ls":          simple("GET", "/volumes"),
		"volume rm":          volumeRm,
		"volume inspect":     named("GET", "/volumes/%s", nil),
		"network create":     networkCreate,
		"network connect":    networkConnect,
		"network disconnect": networkDisconnect,
		"network ls":         simple("GET", "/networks"),
		"network rm":         named("DELETE", "/networks/%s", nil),
		"network inspect":    named("GET", "/networks/%s", nil),
		"plugin install":     pluginInstall,
		"plugin enable":      pluginEnable,
		"plugin disable":     named("POST", "/plugins/%s/disable", forceFlag),
		"plugin rm":          named("DELETE", "/plugins/%s", forceFlag),
		"plugin set":         pluginSet,
		"plugin ls":          simple("GET", "/plugins"),
		"plugin inspect":     named("GET", "/plugins/%s/json", nil),
		"swarm init":         swarmInit,
		"swarm join":         swarmJoin,
		"swarm leave":        swarmLeave,
	}
}

// managementAliases maps "container X" and "image X" to the top-level
// commands; everything else under a management command is looked up by its
// full name ("volume create").
var managementAliases = map[string]map[string]string{
	"container": {"run": "run", "create": "create", "exec": "exec", "update": "update", "commit": "commit", "cp": "cp",
		"start": "start", "stop": "stop", "restart": "restart", "kill": "kill", "pause": "pause", "unpause": "unpause",
		"wait": "wait", "attach": "attach", "top": "top", "diff": "diff", "export": "export", "port": "port",
		"logs": "logs", "rm": "rm", "rename": "rename", "ls": "ps", "list": "ps", "ps": "ps"},
	"image": {"pull": "pull", "push": "push", "tag": "tag", "build": "build", "load": "load", "import": "import",
		"rm": "rmi", "history": "history", "ls": "images", "list": "images"},
	"volume":  {"remove": "volume rm"},
	"network": {"remove": "network rm"},
	"plugin":  {"remove": "plugin rm"},
	"swarm":   {},
	"system":  {"info": "info"},
}

var forceFlag = []flag{{long: "force", short: "f"}}

// newRequest builds a request with the version prefix.
func newRequest(method, p string, q url.Values) *Request {
	u := "/v" + APIVersion + p
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	r := &Request{Method: method, URI: u}
	// The CLI 20.10 sends POST requests without a body as text/plain.
	if method == "POST" || method == "PUT" {
		r.Headers = map[string]string{"Content-Type": "text/plain"}
	}
	return r
}

// withJSON sets a JSON body as the CLI encodes it (json.Encoder: one line
// with a trailing newline).
func (r *Request) withJSON(v any) (*Request, error) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	r.Body = b.Bytes()
	r.Headers = map[string]string{"Content-Type": "application/json"}
	return r, nil
}

// withStream marks a request whose body is a stream dockerd does not forward.
func (r *Request) withStream(contentType string) *Request {
	r.Headers = map[string]string{"Content-Type": contentType}
	return r
}

func pathEscape(s string) string { return url.PathEscape(s) }

// parseCommand parses a subcommand's flags (interspersed, as most docker
// commands take them) and checks that it got min..max positional arguments
// (max < 0: no upper bound); what names them in the error.
func parseCommand(cmd string, specs []flag, args []string, min, max int, what string) (*flagSet, error) {
	fs, err := parseFlags(cmd, specs, args, true)
	if err != nil {
		return nil, err
	}
	if n := len(fs.args); n < min || (max >= 0 && n > max) {
		return nil, fmt.Errorf("docker %s: want %s, got %d argument(s) %q", cmd, what, n, fs.args)
	}
	return fs, nil
}

func simple(method, p string) translator {
	return func(cmd string, args []string) (*Request, error) {
		_, err := parseCommand(cmd, nil, args, 0, 0, "no arguments")
		if err != nil {
			return nil, err
		}
		return newRequest(method, p, nil), nil
	}
}

// named is a command on one named object; flags that are booleans set
// query parameters "force" etc. to 1.
func named(method, format string, specs []flag) translator {
	return func(cmd string, args []string) (*Request, error) {
		fs, err := parseCommand(cmd, specs, args, 1, 1, "one name")
		if err != nil {
			return nil, err
		}
		q := url.Values{}
		for _, s := range specs {
			if fs.has(s.long) {
				q.Set(s.long, "1")
			}
		}
		return newRequest(method, fmt.Sprintf(format, pathEscape(fs.args[0])), q), nil
	}
}

func onContainer(method, action string, specs []flag) translator {
	return func(cmd string, args []string) (*Request, error) {
		fs, err := parseCommand(cmd, specs, args, 1, 1, "one container (one case per container)")
		if err != nil {
			return nil, err
		}
		q := url.Values{}
		switch action {
		case "stop", "restart":
			if fs.has("time") {
				q.Set("t", fs.last("time"))
			}
		case "kill":
			sig := "KILL"
			if fs.has("signal") {
				sig = fs.last("signal")
			}
			q.Set("signal", sig)
		case "wait":
			q.Set("condition", "")
		case "attach":
			q.Set("stream", "1")
			q.Set("stdout", "1")
			q.Set("stderr", "1")
		}
		r := newRequest(method, "/containers/"+pathEscape(fs.args[0])+"/"+action, q)
		if method == "GET" {
			r.Headers = nil
		}
		return r, nil
	}
}

func onImage(method, action string) translator {
	return func(cmd string, args []string) (*Request, error) {
		fs, err := parseCommand(cmd, nil, args, 1, 1, "one image")
		if err != nil {
			return nil, err
		}
		return newRequest(method, "/images/"+fs.args[0]+"/"+action, nil), nil
	}
}

func prune(p string, dangling bool) translator {
	return func(cmd string, args []string) (*Request, error) {
		specs := []flag{{long: "force", short: "f"}}
		if dangling {
			specs = append(specs, flag{long: "all", short: "a"})
		}
		fs, err := parseCommand(cmd, specs, args, 0, 0, "no arguments")
		if err != nil {
			return nil, err
		}
		if !fs.has("force") {
			return nil, fmt.Errorf("docker %s asks for confirmation; add -f", cmd)
		}
		q := url.Values{}
		if dangling {
			v := "true"
			if fs.has("all") {
				v = "false"
			}
			q.Set("filters", `{"dangling":{"`+v+`":true}}`)
		}
		return newRequest("POST", p, q), nil
	}
}

func containerLogs(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "follow", short: "f"}, {long: "tail", short: "n", takesValue: true},
		{long: "timestamps", short: "t"}, {long: "details"},
	}, args, 1, 1, "one container")
	if err != nil {
		return nil, err
	}
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "tail": {"all"}}
	if fs.has("follow") {
		q.Set("follow", "1")
	}
	if fs.has("tail") {
		q.Set("tail", fs.last("tail"))
	}
	if fs.has("timestamps") {
		q.Set("timestamps", "1")
	}
	if fs.has("details") {
		q.Set("details", "1")
	}
	return newRequest("GET", "/containers/"+pathEscape(fs.args[0])+"/logs", q), nil
}

func containerRm(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "force", short: "f"}, {long: "volumes", short: "v"}, {long: "link", short: "l"}}, args, 1, 1, "one container (one case per container)")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for long, key := range map[string]string{"force": "force", "volumes": "v", "link": "link"} {
		if fs.has(long) {
			q.Set(key, "1")
		}
	}
	return newRequest("DELETE", "/containers/"+pathEscape(fs.args[0]), q), nil
}

func containerRename(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, nil, args, 2, 2, "CONTAINER NEW_NAME")
	if err != nil {
		return nil, err
	}
	return newRequest("POST", "/containers/"+pathEscape(fs.args[0])+"/rename", url.Values{"name": {fs.args[1]}}), nil
}

func imageRm(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "force", short: "f"}, {long: "no-prune"}}, args, 1, 1, "one image (one case per image)")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if fs.has("force") {
		q.Set("force", "1")
	}
	if fs.has("no-prune") {
		q.Set("noprune", "1")
	}
	return newRequest("DELETE", "/images/"+fs.args[0], q), nil
}

// filterJSON encodes --filter key=value flags as the CLI does.
func filterJSON(cmd string, filters []string) (string, error) {
	m := map[string]map[string]bool{}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", fmt.Errorf("docker %s: bad filter %q: want key=value", cmd, f)
		}
		if m[strings.ToLower(k)] == nil {
			m[strings.ToLower(k)] = map[string]bool{}
		}
		m[strings.ToLower(k)][v] = true
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func containerList(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "all", short: "a"}, {long: "quiet", short: "q"}, {long: "size", short: "s"},
		{long: "filter", short: "f", takesValue: true}, {long: "last", short: "n", takesValue: true},
		{long: "latest", short: "l"}, {long: "no-trunc"}, {long: "format", takesValue: true},
	}, args, 0, 0, "no arguments")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if fs.has("all") {
		q.Set("all", "1")
	}
	if fs.has("size") {
		q.Set("size", "1")
	}
	if fs.has("latest") {
		q.Set("limit", "1")
	} else if fs.has("last") && fs.last("last") != "-1" {
		q.Set("limit", fs.last("last"))
	}
	if fs.has("filter") {
		f, err := filterJSON(cmd, fs.all("filter"))
		if err != nil {
			return nil, err
		}
		q.Set("filters", f)
	}
	return newRequest("GET", "/containers/json", q), nil
}

func imageList(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "all", short: "a"}, {long: "quiet", short: "q"}, {long: "digests"},
		{long: "filter", short: "f", takesValue: true}, {long: "no-trunc"}, {long: "format", takesValue: true},
	}, args, 0, 1, "at most one repository")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if fs.has("all") {
		q.Set("all", "1")
	}
	filters := fs.all("filter")
	if len(fs.args) == 1 {
		filters = append(filters, "reference="+fs.args[0])
	}
	if len(filters) > 0 {
		f, err := filterJSON(cmd, filters)
		if err != nil {
			return nil, err
		}
		q.Set("filters", f)
	}
	return newRequest("GET", "/images/json", q), nil
}

// splitRef splits an image reference into its familiar name (as the CLI
// sends it: docker.io/ and library/ removed), tag and digest.
func splitRef(ref string) (name, tag, digest string, err error) {
	name = ref
	if i := strings.Index(name, "@"); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name, tag = name[:i], name[i+1:]
	}
	if name == "" || strings.ContainsAny(ref, " \t\n") || strings.ToLower(name) != name {
		return "", "", "", fmt.Errorf("invalid image reference %q", ref)
	}
	for _, p := range []string{"docker.io/", "index.docker.io/"} {
		name = strings.TrimPrefix(name, p)
	}
	if first, rest, ok := strings.Cut(name, "/"); ok && first == "library" && !strings.Contains(rest, "/") {
		name = rest
	}
	return name, tag, digest, nil
}

// fullName is the normalised name (docker.io/library/alpine).
func fullName(familiar string) string {
	first, _, hasSlash := strings.Cut(familiar, "/")
	switch {
	case !hasSlash:
		return "docker.io/library/" + familiar
	case !strings.ContainsAny(first, ".:") && first != "localhost":
		return "docker.io/" + familiar
	}
	return familiar
}

func imagePull(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "quiet", short: "q"}, {long: "disable-content-trust"}}, args, 1, 1, "one image")
	if err != nil {
		return nil, err
	}
	name, tag, digest, err := splitRef(fs.args[0])
	if err != nil {
		return nil, fmt.Errorf("docker %s: %v", cmd, err)
	}
	switch {
	case digest != "":
		tag = digest
	case tag == "":
		tag = "latest"
	}
	return newRequest("POST", "/images/create", url.Values{"fromImage": {name}, "tag": {tag}}), nil
}

func imagePush(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "quiet", short: "q"}, {long: "disable-content-trust"}}, args, 1, 1, "one image")
	if err != nil {
		return nil, err
	}
	name, tag, digest, err := splitRef(fs.args[0])
	if err != nil || digest != "" {
		return nil, fmt.Errorf("docker %s: invalid image to push %q", cmd, fs.args[0])
	}
	if tag == "" {
		tag = "latest"
	}
	return newRequest("POST", "/images/"+name+"/push", url.Values{"tag": {tag}}), nil
}

func imageTag(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, nil, args, 2, 2, "SOURCE TARGET")
	if err != nil {
		return nil, err
	}
	name, tag, digest, err := splitRef(fs.args[1])
	if err != nil || digest != "" {
		return nil, fmt.Errorf("docker %s: invalid target %q", cmd, fs.args[1])
	}
	if tag == "" {
		tag = "latest"
	}
	return newRequest("POST", "/images/"+fs.args[0]+"/tag", url.Values{"repo": {name}, "tag": {tag}}), nil
}

func imageBuild(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "tag", short: "t", takesValue: true}, {long: "file", short: "f", takesValue: true},
		{long: "build-arg", takesValue: true}, {long: "label", takesValue: true},
		{long: "network", takesValue: true}, {long: "cgroup-parent", takesValue: true},
		{long: "no-cache"}, {long: "pull"}, {long: "quiet", short: "q"}, {long: "rm"}, {long: "force-rm"},
		{long: "security-opt", takesValue: true}, {long: "target", takesValue: true},
		{long: "memory", short: "m", takesValue: true}, {long: "memory-swap", takesValue: true},
		{long: "cpu-shares", short: "c", takesValue: true}, {long: "cpu-quota", takesValue: true},
		{long: "cpu-period", takesValue: true}, {long: "cpuset-cpus", takesValue: true},
		{long: "cpuset-mems", takesValue: true}, {long: "shm-size", takesValue: true},
		{long: "ulimit", takesValue: true}, {long: "add-host", takesValue: true},
		{long: "cache-from", takesValue: true},
	}, args, 1, 1, "one build context")
	if err != nil {
		return nil, err
	}
	ctx := fs.args[0]
	if ctx == "-" || strings.Contains(ctx, "://") || strings.HasPrefix(ctx, "git@") {
		return nil, fmt.Errorf("docker %s: only a local context directory is understood by the translator (the CLI sends any context as a tar stream, which dockerd does not forward)", cmd)
	}
	q := url.Values{}
	set := func(k, v string) { q.Set(k, v) }
	for _, t := range fs.all("tag") {
		q.Add("t", t)
	}
	dockerfile := "Dockerfile"
	if fs.has("file") {
		dockerfile = fs.last("file")
		if path.IsAbs(dockerfile) {
			return nil, fmt.Errorf("docker %s: give -f relative to the context", cmd)
		}
	}
	set("dockerfile", dockerfile)
	buildArgs := map[string]*string{}
	for _, a := range fs.all("build-arg") {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("docker %s: --build-arg %q: want KEY=VALUE", cmd, a)
		}
		v2 := v
		buildArgs[k] = &v2
	}
	ba, _ := json.Marshal(buildArgs)
	set("buildargs", string(ba))
	labels, err := keyValues(cmd, "label", fs.all("label"))
	if err != nil {
		return nil, err
	}
	lb, _ := json.Marshal(labels)
	set("labels", string(lb))
	netMode := "default"
	if fs.has("network") {
		netMode = fs.last("network")
	}
	set("networkmode", netMode)
	set("cgroupparent", fs.last("cgroup-parent"))
	if fs.has("no-cache") {
		set("nocache", "1")
	}
	if fs.has("pull") {
		set("pull", "1")
	}
	if fs.has("quiet") {
		set("q", "1")
	}
	rm := "1"
	if v := fs.values["rm"]; v == nil && wasSetFalse(args, "rm") {
		rm = "0"
	}
	set("rm", rm)
	if fs.has("force-rm") {
		set("forcerm", "1")
	}
	for _, o := range fs.all("security-opt") {
		q.Add("securityopt", o)
	}
	set("target", fs.last("target"))
	for flagName, key := range map[string]string{"memory": "memory", "memory-swap": "memswap", "shm-size": "shmsize"} {
		n := int64(0)
		if fs.has(flagName) {
			v := fs.last(flagName)
			if flagName == "memory-swap" && v == "-1" {
				n = -1
			} else if n, err = units.RAMInBytes(v); err != nil {
				return nil, fmt.Errorf("docker %s: --%s %q: %v", cmd, flagName, v, err)
			}
		}
		set(key, fmt.Sprint(n))
	}
	for flagName, key := range map[string]string{"cpu-shares": "cpushares", "cpu-quota": "cpuquota", "cpu-period": "cpuperiod"} {
		v := "0"
		if fs.has(flagName) {
			v = fs.last(flagName)
			if err := checkInt(cmd, flagName, v); err != nil {
				return nil, err
			}
		}
		set(key, v)
	}
	set("cpusetcpus", fs.last("cpuset-cpus"))
	set("cpusetmems", fs.last("cpuset-mems"))
	ulimits := "null"
	if fs.has("ulimit") {
		var us []*units.Ulimit
		for _, u := range fs.all("ulimit") {
			pu, err := units.ParseUlimit(u)
			if err != nil {
				return nil, fmt.Errorf("docker %s: --ulimit %q: %v", cmd, u, err)
			}
			us = append(us, pu)
		}
		b, _ := json.Marshal(us)
		ulimits = string(b)
	}
	set("ulimits", ulimits)
	for _, h := range fs.all("add-host") {
		q.Add("extrahosts", h)
	}
	cf := fs.all("cache-from")
	if cf == nil {
		cf = []string{}
	}
	cb, _ := json.Marshal(cf)
	set("cachefrom", string(cb))
	set("version", "1")
	return newRequest("POST", "/build", q).withStream("application/x-tar"), nil
}

// wasSetFalse reports whether --name=false was given (parseFlags drops it).
func wasSetFalse(args []string, name string) bool {
	for _, a := range args {
		if a == "--"+name+"=false" {
			return true
		}
	}
	return false
}

func checkInt(cmd, flagName, v string) error {
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil || fmt.Sprint(n) != v {
		return fmt.Errorf("docker %s: --%s %q: not a whole number", cmd, flagName, v)
	}
	return nil
}

func keyValues(cmd, flagName string, vals []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range vals {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("docker %s: --%s %q: want KEY=VALUE", cmd, flagName, kv)
		}
		m[k] = v
	}
	return m, nil
}

func imageLoad(cmd string, args []string) (*Request, error) {
	_, err := parseCommand(cmd, []flag{{long: "input", short: "i", takesValue: true}, {long: "quiet", short: "q"}}, args, 0, 0, "no arguments")
	if err != nil {
		return nil, err
	}
	// quiet=1: the CLI asks for it when its output is not a terminal, as in CI.
	return newRequest("POST", "/images/load", url.Values{"quiet": {"1"}}).withStream("application/x-tar"), nil
}

func imageImport(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "message", short: "m", takesValue: true}, {long: "change", short: "c", takesValue: true}, {long: "platform", takesValue: true}}, args, 1, 2, "FILE|URL|- [REPOSITORY[:TAG]]")
	if err != nil {
		return nil, err
	}
	src := fs.args[0]
	if !strings.Contains(src, "://") {
		src = "-" // a file or stdin is sent as the body
	}
	q := url.Values{"fromSrc": {src}, "message": {fs.last("message")}, "tag": {""}, "repo": {""}}
	if len(fs.args) == 2 {
		q.Set("repo", fs.args[1])
	}
	for _, c := range fs.all("change") {
		q.Add("changes", c)
	}
	if fs.has("platform") {
		q.Set("platform", fs.last("platform"))
	}
	r := newRequest("POST", "/images/create", q)
	if src == "-" {
		r.Headers = nil
	}
	return r, nil
}

func containerCommit(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "change", short: "c", takesValue: true}, {long: "message", short: "m", takesValue: true},
		{long: "author", short: "a", takesValue: true}, {long: "pause", short: "p"},
	}, args, 1, 2, "CONTAINER [REPOSITORY[:TAG]]")
	if err != nil {
		return nil, err
	}
	q := url.Values{"container": {fs.args[0]}, "author": {fs.last("author")}, "comment": {fs.last("message")}, "repo": {""}, "tag": {""}}
	for _, c := range fs.all("change") {
		q.Add("changes", c)
	}
	if wasSetFalse(args, "pause") || hasShortFalse(args, "p") {
		q.Set("pause", "0")
	}
	if len(fs.args) == 2 {
		name, tag, digest, err := splitRef(fs.args[1])
		if err != nil || digest != "" {
			return nil, fmt.Errorf("docker %s: invalid repository %q", cmd, fs.args[1])
		}
		if tag == "" {
			tag = "latest"
		}
		q.Set("repo", name)
		q.Set("tag", tag)
	}
	// The CLI sends its (empty) config as the JSON body "null".
	return newRequest("POST", "/commit", q).withJSON(nil)
}

func hasShortFalse(args []string, c string) bool {
	for _, a := range args {
		if a == "-"+c+"=false" {
			return true
		}
	}
	return false
}

func containerCp(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "archive", short: "a"}, {long: "follow-link", short: "L"}}, args, 2, 2, "SRC DEST (one of them CONTAINER:PATH)")
	if err != nil {
		return nil, err
	}
	src, dst := fs.args[0], fs.args[1]
	split := func(s string) (ctr, p string, ok bool) {
		if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
			return "", s, false
		}
		c, p, ok := strings.Cut(s, ":")
		return c, p, ok
	}
	sc, sp, sIn := split(src)
	dc, dp, dIn := split(dst)
	switch {
	case sIn && dIn:
		return nil, fmt.Errorf("docker %s: copying between containers is not supported", cmd)
	case dIn:
		// The CLI stats the destination first; for an existing directory
		// it extracts there (for a file path it would use the parent).
		q := url.Values{"path": {dp}, "noOverwriteDirNonDir": {"true"}}
		if fs.has("archive") {
			q.Set("copyUIDGID", "true")
		}
		return newRequest("PUT", "/containers/"+pathEscape(dc)+"/archive", q), nil
	case sIn:
		return newRequest("GET", "/containers/"+pathEscape(sc)+"/archive", url.Values{"path": {sp}}), nil
	}
	return nil, fmt.Errorf("docker %s: one of SRC and DEST must be CONTAINER:PATH", cmd)
}

// optsAndLabels parses the --opt and --label KEY=VALUE lists of volume and
// network create.
func optsAndLabels(cmd string, fs *flagSet) (opts, labels map[string]string, err error) {
	if opts, err = keyValues(cmd, "opt", fs.all("opt")); err != nil {
		return nil, nil, err
	}
	if labels, err = keyValues(cmd, "label", fs.all("label")); err != nil {
		return nil, nil, err
	}
	return opts, labels, nil
}

func volumeCreate(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "driver", short: "d", takesValue: true}, {long: "opt", short: "o", takesValue: true},
		{long: "label", takesValue: true}, {long: "name", takesValue: true},
	}, args, 0, 1, "at most one volume name")
	if err != nil {
		return nil, err
	}
	opts, labels, err := optsAndLabels(cmd, fs)
	if err != nil {
		return nil, err
	}
	b := volume.VolumeCreateBody{Driver: "local", DriverOpts: opts, Labels: labels, Name: fs.last("name")}
	if fs.has("driver") {
		b.Driver = fs.last("driver")
	}
	if len(fs.args) == 1 {
		b.Name = fs.args[0]
	}
	return newRequest("POST", "/volumes/create", nil).withJSON(b)
}

func volumeRm(cmd string, args []string) (*Request, error) {
	return named("DELETE", "/volumes/%s", forceFlag)(cmd, args)
}

func networkCreate(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "driver", short: "d", takesValue: true}, {long: "opt", short: "o", takesValue: true},
		{long: "label", takesValue: true}, {long: "internal"}, {long: "attachable"}, {long: "ingress"},
		{long: "ipv6"}, {long: "scope", takesValue: true}, {long: "subnet", takesValue: true},
		{long: "gateway", takesValue: true}, {long: "ip-range", takesValue: true},
	}, args, 1, 1, "one network name")
	if err != nil {
		return nil, err
	}
	opts, labels, err := optsAndLabels(cmd, fs)
	if err != nil {
		return nil, err
	}
	ipam := &network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}}
	subnets, gws, ranges := fs.all("subnet"), fs.all("gateway"), fs.all("ip-range")
	if len(gws) > len(subnets) || len(ranges) > len(subnets) {
		return nil, fmt.Errorf("docker %s: every --gateway and --ip-range needs a --subnet", cmd)
	}
	for i, s := range subnets {
		c := network.IPAMConfig{Subnet: s}
		if i < len(gws) {
			c.Gateway = gws[i]
		}
		if i < len(ranges) {
			c.IPRange = ranges[i]
		}
		ipam.Config = append(ipam.Config, c)
	}
	driver := "bridge"
	if fs.has("driver") {
		driver = fs.last("driver")
	}
	body := types.NetworkCreateRequest{
		NetworkCreate: types.NetworkCreate{
			CheckDuplicate: true, Driver: driver, Scope: fs.last("scope"), EnableIPv6: fs.has("ipv6"),
			IPAM: ipam, Internal: fs.has("internal"), Attachable: fs.has("attachable"), Ingress: fs.has("ingress"),
			Options: opts, Labels: labels,
		},
		Name: fs.args[0],
	}
	return newRequest("POST", "/networks/create", nil).withJSON(body)
}

func networkConnect(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "alias", takesValue: true}}, args, 2, 2, "NETWORK CONTAINER")
	if err != nil {
		return nil, err
	}
	aliases := fs.all("alias")
	if aliases == nil {
		aliases = []string{}
	}
	body := types.NetworkConnect{Container: fs.args[1], EndpointConfig: &network.EndpointSettings{
		IPAMConfig: &network.EndpointIPAMConfig{}, Aliases: aliases, DriverOpts: map[string]string{},
	}}
	return newRequest("POST", "/networks/"+pathEscape(fs.args[0])+"/connect", nil).withJSON(body)
}

func networkDisconnect(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, forceFlag, args, 2, 2, "NETWORK CONTAINER")
	if err != nil {
		return nil, err
	}
	body := types.NetworkDisconnect{Container: fs.args[1], Force: fs.has("force")}
	return newRequest("POST", "/networks/"+pathEscape(fs.args[0])+"/disconnect", nil).withJSON(body)
}

func pluginInstall(cmd string, args []string) (*Request, error) {
	fs, err := parseFlags(cmd, []flag{{long: "alias", takesValue: true}, {long: "grant-all-permissions"}, {long: "disable"}, {long: "disable-content-trust"}}, args, false)
	if err != nil {
		return nil, err
	}
	if len(fs.args) < 1 {
		return nil, fmt.Errorf("docker %s: which plugin?", cmd)
	}
	name, tag, digest, err := splitRef(fs.args[0])
	if err != nil {
		return nil, fmt.Errorf("docker %s: %v", cmd, err)
	}
	remote := fullName(name)
	if tag != "" {
		remote += ":" + tag
	}
	if digest != "" {
		remote += "@" + digest
	}
	local := ""
	if fs.has("alias") {
		an, at, _, err := splitRef(fs.last("alias"))
		if err != nil {
			return nil, fmt.Errorf("docker %s: --alias: %v", cmd, err)
		}
		if at == "" {
			at = "latest"
		}
		local = an + ":" + at
	}
	// The body is the privileges the plugin asks for, as GET
	// /plugins/privileges returned them; the translator assumes none
	// (write a raw request to test a plugin that asks for some).
	return newRequest("POST", "/plugins/pull", url.Values{"remote": {remote}, "name": {local}}).withJSON(types.PluginPrivileges{})
}

func pluginEnable(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{{long: "timeout", takesValue: true}}, args, 1, 1, "one plugin")
	if err != nil {
		return nil, err
	}
	t := "30"
	if fs.has("timeout") {
		t = fs.last("timeout")
	}
	return newRequest("POST", "/plugins/"+pathEscape(fs.args[0])+"/enable", url.Values{"timeout": {t}}), nil
}

func pluginSet(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, nil, args, 2, -1, "PLUGIN KEY=VALUE...")
	if err != nil {
		return nil, err
	}
	return newRequest("POST", "/plugins/"+pathEscape(fs.args[0])+"/set", nil).withJSON(fs.args[1:])
}

func swarmInit(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "advertise-addr", takesValue: true}, {long: "listen-addr", takesValue: true},
		{long: "data-path-addr", takesValue: true}, {long: "force-new-cluster"}, {long: "autolock"},
	}, args, 0, 0, "no arguments")
	if err != nil {
		return nil, err
	}
	listen := "0.0.0.0:2377"
	if fs.has("listen-addr") {
		listen = fs.last("listen-addr")
	}
	body := swarm.InitRequest{
		ListenAddr: listen, AdvertiseAddr: fs.last("advertise-addr"), DataPathAddr: fs.last("data-path-addr"),
		ForceNewCluster: fs.has("force-new-cluster"), AutoLockManagers: fs.has("autolock"), SubnetSize: 24,
	}
	body.Spec.EncryptionConfig.AutoLockManagers = fs.has("autolock")
	return newRequest("POST", "/swarm/init", nil).withJSON(body)
}

func swarmJoin(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, []flag{
		{long: "token", takesValue: true}, {long: "advertise-addr", takesValue: true},
		{long: "listen-addr", takesValue: true}, {long: "data-path-addr", takesValue: true},
	}, args, 1, 1, "HOST:PORT")
	if err != nil {
		return nil, err
	}
	listen := "0.0.0.0:2377"
	if fs.has("listen-addr") {
		listen = fs.last("listen-addr")
	}
	body := swarm.JoinRequest{ListenAddr: listen, AdvertiseAddr: fs.last("advertise-addr"), DataPathAddr: fs.last("data-path-addr"),
		RemoteAddrs: []string{fs.args[0]}, JoinToken: fs.last("token")}
	return newRequest("POST", "/swarm/join", nil).withJSON(body)
}

func swarmLeave(cmd string, args []string) (*Request, error) {
	fs, err := parseCommand(cmd, forceFlag, args, 0, 0, "no arguments")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if fs.has("force") {
		q.Set("force", "1")
	}
	return newRequest("POST", "/swarm/leave", q), nil
}
