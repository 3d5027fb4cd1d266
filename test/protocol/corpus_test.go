package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// createBody is a container-create body as the docker CLI 20.10 sends it for
// `docker run alpine sh`, with fields of Config and HostConfig replaced by
// the given ones.
func createBody(cfg, host map[string]any) []byte {
	c := map[string]any{
		"Hostname": "", "Domainname": "", "User": "", "AttachStdin": false, "AttachStdout": true,
		"AttachStderr": true, "Tty": false, "OpenStdin": false, "StdinOnce": false, "Env": []string{"HOME=/root"},
		"Cmd": []string{"sh"}, "Image": "alpine", "Volumes": map[string]any{}, "WorkingDir": "",
		"Entrypoint": nil, "OnBuild": nil, "Labels": map[string]string{},
	}
	h := map[string]any{
		"Binds": nil, "ContainerIDFile": "", "LogConfig": map[string]any{"Type": "", "Config": map[string]string{}},
		"NetworkMode": "default", "PortBindings": map[string]any{}, "RestartPolicy": map[string]any{"Name": "no", "MaximumRetryCount": 0},
		"AutoRemove": false, "VolumeDriver": "", "VolumesFrom": nil, "CapAdd": nil, "CapDrop": nil, "CgroupnsMode": "",
		"Dns": []string{}, "DnsOptions": []string{}, "DnsSearch": []string{}, "ExtraHosts": nil, "GroupAdd": nil,
		"IpcMode": "", "Cgroup": "", "Links": nil, "OomScoreAdj": 0, "PidMode": "", "Privileged": false,
		"PublishAllPorts": false, "ReadonlyRootfs": false, "SecurityOpt": nil, "UTSMode": "", "UsernsMode": "",
		"ShmSize": 0, "ConsoleSize": []int{0, 0}, "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0,
		"CgroupParent": "", "BlkioWeight": 0, "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "", "CpusetMems": "",
		"Devices": []any{}, "DeviceCgroupRules": nil, "DeviceRequests": nil, "MemoryReservation": 0, "MemorySwap": 0,
		"MemorySwappiness": -1, "OomKillDisable": false, "PidsLimit": nil, "Ulimits": nil, "MaskedPaths": nil, "ReadonlyPaths": nil,
	}
	for k, v := range cfg {
		c[k] = v
	}
	for k, v := range host {
		h[k] = v
	}
	c["HostConfig"] = h
	c["NetworkingConfig"] = map[string]any{"EndpointsConfig": map[string]any{}}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

// cli28Create is the body docker CLI 28.2.2 sends for `docker run alpine`
// (captured for the benchmark).
func cli28Create() []byte {
	b, err := os.ReadFile(filepath.Join("..", "bench", "testdata", "create-cli-28.2.2.json"))
	if err != nil {
		panic(err)
	}
	return bytes.TrimSpace(b)
}

func hc(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// rawCreate splices raw JSON (for encodings json.Marshal cannot produce)
// into the HostConfig object of a default create body.
func rawCreate(hostFragment string) []byte {
	b := string(createBody(nil, nil))
	return []byte(strings.Replace(b, `"HostConfig":{`, `"HostConfig":{`+hostFragment+`,`, 1))
}

const (
	allow = "allow"
	deny  = "deny"
	skip  = ""
)

// tc is one corpus entry. alice and admin are the expected decisions for
// the developer and the administrator ("" = not asked).
type tc struct {
	name         string
	method, uri  string
	body         []byte
	headers      map[string]string // nil: application/json when a body is present
	alice, admin string
	msg          string // part of alice's deny message
}

func corpus() []tc {
	execBody := []byte(`{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sh"]}`)
	return []tc{
		// A developer's ordinary day: all allowed.
		{name: "ping", method: "GET", uri: "/_ping", alice: allow, admin: allow},
		{name: "ping head", method: "HEAD", uri: "/_ping", alice: allow, admin: allow},
		{name: "version", method: "GET", uri: "/v1.41/version", alice: allow, admin: allow},
		{name: "info", method: "GET", uri: "/v1.41/info", alice: allow, admin: allow},
		{name: "ps", method: "GET", uri: "/v1.41/containers/json", alice: allow, admin: allow},
		{name: "ps -a filters", method: "GET", uri: "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%7B%22x%3Dy%22%3Atrue%7D%7D", alice: allow, admin: allow},
		{name: "ps without version", method: "GET", uri: "/containers/json", alice: allow, admin: allow},
		{name: "images", method: "GET", uri: "/v1.41/images/json", alice: allow, admin: allow},
		{name: "pull alpine", method: "POST", uri: "/v1.41/images/create?fromImage=alpine&tag=latest", alice: allow, admin: allow},
		{name: "pull library path", method: "POST", uri: "/v1.41/images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=3.20", alice: allow, admin: allow},
		{name: "pull internal registry", method: "POST", uri: "/v1.41/images/create?fromImage=registry.internal.example%2Fteam%2Fapp&tag=1.0", alice: allow, admin: allow},
		{name: "pull by digest", method: "POST", uri: "/v1.41/images/create?fromImage=alpine&tag=sha256%3A" + strings.Repeat("a", 64), alice: allow, admin: allow},
		{name: "run alpine", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, nil), alice: allow, admin: allow},
		{name: "run alpine named", method: "POST", uri: "/v1.41/containers/create?name=web", body: createBody(nil, nil), alice: allow, admin: allow},
		{name: "run with ports", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"ExposedPorts": map[string]any{"80/tcp": map[string]any{}}},
			hc("PortBindings", map[string]any{"80/tcp": []map[string]string{{"HostIp": "", "HostPort": "8080"}}})), alice: allow, admin: allow},
		{name: "run with tmpfs", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Tmpfs", map[string]string{"/run": "rw,size=64m"})), alice: allow, admin: allow},
		{name: "run with named volume", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Binds", []string{"cache:/cache"})), alice: allow, admin: allow},
		{name: "run with volume mount", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Mounts", []map[string]any{{"Type": "volume", "Source": "cache", "Target": "/cache"}})), alice: allow, admin: allow},
		{name: "run with anonymous volume", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"Volumes": map[string]any{"/data": map[string]any{}}}, nil), alice: allow, admin: allow},
		{name: "run with cap-drop", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapDrop", []string{"ALL"})), alice: allow, admin: allow},
		{name: "run with default cap re-added", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapAdd", []string{"NET_BIND_SERVICE"}, "CapDrop", []string{"ALL"})), alice: allow, admin: allow},
		{name: "run with env and user", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"User": "1000:1000", "Env": []string{"TOKEN=s3cr3t"}}, nil), alice: allow, admin: allow},
		{name: "run with limits", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Memory", 512<<20, "NanoCpus", 1e9, "PidsLimit", 100)), alice: allow, admin: allow},
		{name: "run no-new-privileges", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"no-new-privileges"})), alice: allow, admin: allow},
		{name: "run read-only", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("ReadonlyRootfs", true)), alice: allow, admin: allow},
		{name: "run on bridge network", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("NetworkMode", "bridge")), alice: allow, admin: allow},
		{name: "run safe sysctl", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Sysctls", map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"})), alice: allow, admin: allow},
		{name: "create charset json", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, nil), headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, alice: allow, admin: allow},
		{name: "start", method: "POST", uri: "/v1.41/containers/web/start", alice: allow, admin: allow},
		{name: "wait", method: "POST", uri: "/v1.41/containers/web/wait?condition=next-exit", alice: allow, admin: allow},
		{name: "attach", method: "POST", uri: "/v1.41/containers/web/attach?stderr=1&stdin=1&stdout=1&stream=1", alice: allow, admin: allow},
		{name: "logs", method: "GET", uri: "/v1.41/containers/web/logs?stdout=1&stderr=1&follow=1", alice: allow, admin: allow},
		{name: "inspect", method: "GET", uri: "/v1.41/containers/web/json", alice: allow, admin: allow},
		{name: "top", method: "GET", uri: "/v1.41/containers/web/top", alice: allow, admin: allow},
		{name: "stop", method: "POST", uri: "/v1.41/containers/web/stop?t=10", alice: allow, admin: allow},
		{name: "rm", method: "DELETE", uri: "/v1.41/containers/web?force=1&v=1", alice: allow, admin: allow},
		{name: "exec create", method: "POST", uri: "/v1.41/containers/web/exec", body: execBody, alice: allow, admin: allow},
		{name: "exec start", method: "POST", uri: "/v1.41/exec/0123456789ab/start", body: []byte(`{"Detach":false,"Tty":false}`), alice: allow, admin: allow},
		{name: "exec inspect", method: "GET", uri: "/v1.41/exec/0123456789ab/json", alice: allow, admin: allow},
		{name: "build", method: "POST", uri: "/v1.41/build?t=myimage&dockerfile=Dockerfile&rm=1", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: allow, admin: allow},
		{name: "build internal tag", method: "POST", uri: "/v1.41/build?t=registry.internal.example%2Fteam%2Fapp%3A1", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: allow, admin: allow},
		{name: "volume create", method: "POST", uri: "/v1.41/volumes/create", body: []byte(`{"Driver":"local","DriverOpts":{},"Labels":{},"Name":"cache"}`), alice: allow, admin: allow},
		{name: "volume create tmpfs", method: "POST", uri: "/v1.41/volumes/create", body: []byte(`{"Driver":"local","DriverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=100m"},"Labels":{},"Name":"scratch"}`), alice: allow, admin: allow},
		{name: "volume ls", method: "GET", uri: "/v1.41/volumes", alice: allow, admin: allow},
		{name: "volume rm", method: "DELETE", uri: "/v1.41/volumes/cache", alice: allow, admin: allow},
		{name: "network create bridge", method: "POST", uri: "/v1.41/networks/create", body: []byte(`{"Name":"ci","CheckDuplicate":true,"Driver":"bridge","Options":{},"Labels":{}}`), alice: allow, admin: allow},
		{name: "network ls", method: "GET", uri: "/v1.41/networks", alice: allow, admin: allow},
		{name: "events", method: "GET", uri: "/v1.41/events", alice: allow, admin: allow},
		{name: "image inspect", method: "GET", uri: "/v1.41/images/alpine/json", alice: allow, admin: allow},
		{name: "tag to library", method: "POST", uri: "/v1.41/images/alpine/tag?repo=myalpine&tag=v1", alice: allow, admin: allow},
		{name: "commit plain", method: "POST", uri: "/v1.41/commit?container=web&repo=snapshot&tag=1", body: []byte(`{}`), alice: allow, admin: allow},
		{name: "cp from container", method: "GET", uri: "/v1.41/containers/web/archive?path=%2Fetc%2Fhosts", alice: allow, admin: allow},
		{name: "system df", method: "GET", uri: "/v1.41/system/df", alice: allow, admin: allow},

		// Privileged, in every spelling.
		{name: "privileged", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny, admin: allow, msg: "privileged"},
		{name: "privileged no version", method: "POST", uri: "/containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny, admin: allow, msg: "privileged"},
		{name: "privileged old api", method: "POST", uri: "/v1.24/containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny, admin: allow, msg: "privileged"},
		{name: "privileged lower-case key", method: "POST", uri: "/v1.41/containers/create", body: rawCreate(`"privileged":true`), alice: deny},
		{name: "privileged upper-case key", method: "POST", uri: "/v1.41/containers/create", body: rawCreate(`"PRIVILEGED":true`), alice: deny},
		{name: "privileged duplicate key", method: "POST", uri: "/v1.41/containers/create", body: []byte(strings.Replace(string(createBody(nil, nil)), `"Privileged":false`, `"Privileged":false,"Privileged":true`, 1)), alice: deny},
		{name: "privileged duplicate HostConfig", method: "POST", uri: "/v1.41/containers/create", body: []byte(strings.TrimSuffix(string(createBody(nil, nil)), "}") + `,"HostConfig":{"Privileged":true}}`), alice: deny},
		{name: "privileged unicode escape", method: "POST", uri: "/v1.41/containers/create", body: []byte(strings.Replace(string(createBody(nil, nil)), `"Privileged":false`, `"Pr\u0069vileged":true`, 1)), alice: deny, msg: "privileged"},
		{name: "privileged kelvin fold", method: "POST", uri: "/v1.41/containers/create", body: rawCreate(`"Privileged":false,"CapAdd":null,"Privileged\u212a":true`), alice: deny},
		{name: "binds long-s fold", method: "POST", uri: "/v1.41/containers/create", body: []byte(strings.Replace(string(createBody(nil, nil)), `"Binds":null`, `"Bind\u017f":["/:/host"]`, 1)), alice: deny},
		{name: "privileged trailing object", method: "POST", uri: "/v1.41/containers/create", body: append(createBody(nil, nil), []byte(`{"HostConfig":{"Privileged":true}}`)...), alice: deny},
		{name: "privileged string true", method: "POST", uri: "/v1.41/containers/create", body: rawCreate(`"Privileged":"true"`), alice: deny},
		{name: "privileged exec", method: "POST", uri: "/v1.41/containers/web/exec", body: []byte(`{"User":"","Privileged":true,"Tty":false,"AttachStdout":true,"Cmd":["sh"]}`), alice: deny, admin: allow, msg: "privileged"},
		{name: "exec lower-case privileged", method: "POST", uri: "/v1.41/containers/web/exec", body: []byte(`{"privileged":true,"Cmd":["sh"]}`), alice: deny},
		{name: "start body privileged old api", method: "POST", uri: "/v1.23/containers/web/start", body: []byte(`{"Privileged":true}`), alice: deny, admin: allow},
		{name: "start body binds old api", method: "POST", uri: "/v1.23/containers/web/start", body: []byte(`{"Binds":["/:/host"]}`), alice: deny, admin: allow},

		{name: "legacy top-level privileged", method: "POST", uri: "/v1.19/containers/create", body: []byte(`{"Image":"alpine","Cmd":["sh"],"Privileged":true}`), alice: deny, admin: allow},
		{name: "legacy top-level binds", method: "POST", uri: "/v1.19/containers/create", body: []byte(`{"Image":"alpine","Cmd":["sh"],"Binds":["/:/host"]}`), alice: deny, admin: allow},
		{name: "legacy top-level beside HostConfig", method: "POST", uri: "/v1.41/containers/create", body: []byte(`{"Image":"alpine","Cmd":["sh"],"HostConfig":{"Privileged":false},"Privileged":true}`), alice: deny},
		{name: "docker cli 28 create", method: "POST", uri: "/v1.41/containers/create", body: cli28Create(), alice: allow, admin: allow},
		{name: "create by digest", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"Image": "alpine@sha256:" + strings.Repeat("b", 64)}, nil), alice: allow, admin: allow},
		{name: "interactive tty", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"Tty": true, "OpenStdin": true, "StdinOnce": true, "AttachStdin": true}, hc("AutoRemove", true)), alice: allow, admin: allow},
		{name: "build second tag untrusted", method: "POST", uri: "/v1.41/build?t=myimage&t=evil.example.com%2Fx", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: deny, admin: allow},

		// Body tricks (CVE-2024-41110, CVE-2026-34040).
		{name: "create without body", method: "POST", uri: "/v1.41/containers/create", alice: deny, admin: deny},
		{name: "create text/plain body", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Privileged", true)), headers: map[string]string{"Content-Type": "text/plain"}, alice: deny, admin: deny},
		{name: "create no content-type", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Privileged", true)), headers: map[string]string{}, alice: deny},
		{name: "create not json", method: "POST", uri: "/v1.41/containers/create", body: []byte(`{"HostConfig":`), alice: deny, admin: deny},
		{name: "create unknown key", method: "POST", uri: "/v1.41/containers/create", body: rawCreate(`"Privilegd":true`), alice: deny},
		{name: "create invalid utf-8", method: "POST", uri: "/v1.41/containers/create", body: []byte("{\"Image\":\"alp\xffine\"}"), alice: deny},
		{name: "exec without body", method: "POST", uri: "/v1.41/containers/web/exec", alice: deny, admin: deny},
		{name: "volume create without body", method: "POST", uri: "/v1.41/volumes/create", alice: deny},

		// Host mounts.
		{name: "bind root", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Binds", []string{"/:/host"})), alice: deny, admin: allow, msg: "bind-mount host path /"},
		{name: "bind docker socket", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Binds", []string{"/var/run/docker.sock:/var/run/docker.sock"})), alice: deny, admin: allow, msg: "docker.sock"},
		{name: "bind relative-looking", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Binds", []string{"/tmp/../etc:/h:ro"})), alice: deny, admin: allow, msg: "/etc"},
		{name: "bind double slash", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Binds", []string{"//var/run//docker.sock:/s"})), alice: deny, admin: allow},
		{name: "bind with options", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Binds", []string{"/etc:/h:ro,z"})), alice: deny, admin: allow},
		{name: "mount bind", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Mounts", []map[string]any{{"Type": "bind", "Source": "/", "Target": "/h"}})), alice: deny, admin: allow, msg: "bind-mount"},
		{name: "mount bind propagation", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Mounts", []map[string]any{{"Type": "bind", "Source": "/var/lib/docker", "Target": "/d", "BindOptions": map[string]any{"Propagation": "rshared"}}})), alice: deny, admin: allow},
		{name: "mount volume with bind driver opts", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Mounts", []map[string]any{{"Type": "volume", "Source": "x", "Target": "/h", "VolumeOptions": map[string]any{"DriverConfig": map[string]any{"Name": "local", "Options": map[string]string{"type": "none", "o": "bind", "device": "/"}}}}})), alice: deny, admin: allow},
		{name: "legacy Volumes host part", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"Volumes": map[string]any{"/:/host": map[string]any{}}}, nil), alice: deny},
		{name: "volume create bind", method: "POST", uri: "/v1.41/volumes/create", body: []byte(`{"Driver":"local","DriverOpts":{"o":"bind","type":"none","device":"/"},"Name":"hostroot"}`), alice: deny, admin: allow, msg: "bind-mount host path /"},
		{name: "volume create bind upper-case opts", method: "POST", uri: "/v1.41/volumes/create", body: []byte(`{"Driver":"local","DriverOpts":{"O":"bind","Type":"none","Device":"/etc"},"Name":"hostetc"}`), alice: deny},
		{name: "volume create device", method: "POST", uri: "/v1.41/volumes/create", body: []byte(`{"Driver":"local","DriverOpts":{"type":"ext4","device":"/dev/sda1"},"Name":"disk"}`), alice: deny, admin: allow},
		{name: "volume driver other", method: "POST", uri: "/v1.41/volumes/create", body: []byte(`{"Driver":"rexray","Name":"v"}`), alice: deny, admin: allow},
		{name: "volumes-from", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("VolumesFrom", []string{"admin-box"})), alice: deny, admin: allow, msg: "volumes"},

		// Capabilities.
		{name: "cap SYS_ADMIN", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapAdd", []string{"SYS_ADMIN"})), alice: deny, admin: allow, msg: "SYS_ADMIN"},
		{name: "cap prefixed lower", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapAdd", []string{"cap_sys_admin"})), alice: deny, admin: allow, msg: "SYS_ADMIN"},
		{name: "cap ALL", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapAdd", []string{"all"})), alice: deny, admin: allow},
		{name: "cap SYS_PTRACE", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapAdd", []string{"SYS_PTRACE"})), alice: deny, admin: allow},
		{name: "cap NET_ADMIN among defaults", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CapAdd", []string{"CHOWN", "NET_ADMIN"})), alice: deny, admin: allow, msg: "NET_ADMIN"},

		// Devices.
		{name: "device", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Devices", []map[string]string{{"PathOnHost": "/dev/sda", "PathInContainer": "/dev/sda", "CgroupPermissions": "rwm"}})), alice: deny, admin: allow, msg: "/dev/sda"},
		{name: "device cgroup rule", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("DeviceCgroupRules", []string{"b 8:* rmw"})), alice: deny, admin: allow},
		{name: "device request gpu", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("DeviceRequests", []map[string]any{{"Driver": "", "Count": -1, "Capabilities": [][]string{{"gpu"}}}})), alice: deny, admin: allow},

		// Host namespaces.
		{name: "net host", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("NetworkMode", "host")), alice: deny, admin: allow, msg: "host network"},
		{name: "net HOST upper", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("NetworkMode", "HOST")), alice: deny},
		{name: "pid host", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("PidMode", "host")), alice: deny, admin: allow, msg: "pid"},
		{name: "ipc host", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("IpcMode", "host")), alice: deny, admin: allow},
		{name: "uts host", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("UTSMode", "host")), alice: deny, admin: allow},
		{name: "userns host", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("UsernsMode", "host")), alice: deny, admin: allow},
		{name: "cgroupns host", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CgroupnsMode", "host")), alice: deny, admin: allow},
		{name: "network connect host", method: "POST", uri: "/v1.41/networks/host/connect", body: []byte(`{"Container":"web","EndpointConfig":null}`), alice: deny, admin: allow},
		{name: "build network host", method: "POST", uri: "/v1.41/build?t=x&networkmode=host", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: deny, admin: allow},
		{name: "network create macvlan", method: "POST", uri: "/v1.41/networks/create", body: []byte(`{"Name":"lan","Driver":"macvlan","Options":{"parent":"eth0"}}`), alice: deny, admin: allow},

		// Confinement.
		{name: "seccomp unconfined =", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"seccomp=unconfined"})), alice: deny, admin: allow, msg: "seccomp"},
		{name: "seccomp unconfined :", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"seccomp:unconfined"})), alice: deny, admin: allow},
		{name: "apparmor unconfined", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"apparmor=unconfined"})), alice: deny, admin: allow},
		{name: "label disable", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"label=disable"})), alice: deny, admin: allow},
		{name: "label colon disable", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"label:disable"})), alice: deny, admin: allow},
		{name: "systempaths unconfined", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"systempaths=unconfined"})), alice: deny, admin: allow},
		{name: "no-new-privileges false", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("SecurityOpt", []string{"no-new-privileges:false"})), alice: deny, admin: allow, msg: "no-new-privileges"},
		{name: "masked paths emptied", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("MaskedPaths", []string{})), alice: deny, admin: allow},
		{name: "readonly paths emptied", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("ReadonlyPaths", []string{})), alice: deny, admin: allow},

		// Kernel.
		{name: "sysctl unsafe", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Sysctls", map[string]string{"kernel.msgmax": "65536"})), alice: deny, admin: allow, msg: "sysctl"},
		{name: "sysctl ip_forward", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Sysctls", map[string]string{"net.ipv4.ip_forward": "1"})), alice: deny, admin: allow},
		{name: "sysctl slash form", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Sysctls", map[string]string{"kernel/msgmax": "65536"})), alice: deny},
		{name: "cgroup parent", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("CgroupParent", "/")), alice: deny, admin: allow},
		{name: "runtime other", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("Runtime", "nvidia")), alice: deny, admin: allow},
		{name: "oom kill disable", method: "POST", uri: "/v1.41/containers/create", body: createBody(nil, hc("OomKillDisable", true)), alice: deny, admin: allow},
		{name: "update cgroup parent via oom", method: "POST", uri: "/v1.41/containers/web/update", body: []byte(`{"OomKillDisable":true}`), alice: deny, admin: allow},

		// Images.
		{name: "pull untrusted registry", method: "POST", uri: "/v1.41/images/create?fromImage=evil.example.com%2Froot&tag=latest", alice: deny, admin: allow, msg: "evil.example.com"},
		{name: "pull hub user image", method: "POST", uri: "/v1.41/images/create?fromImage=mallory%2Ftools&tag=latest", alice: deny, admin: allow},
		{name: "pull registry prefix trick", method: "POST", uri: "/v1.41/images/create?fromImage=registry.internal.example.evil.com%2Fx&tag=1", alice: deny, admin: allow},
		{name: "pull tag in fromImage", method: "POST", uri: "/v1.41/images/create?fromImage=evil.example.com%2Fx%3Alatest", alice: deny, admin: allow},
		{name: "create untrusted image", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"Image": "evil.example.com/root:latest"}, nil), alice: deny, admin: allow},
		{name: "create hub user image", method: "POST", uri: "/v1.41/containers/create", body: createBody(map[string]any{"Image": "mallory/tools"}, nil), alice: deny, admin: allow},
		{name: "import from url", method: "POST", uri: "/v1.41/images/create?fromSrc=http%3A%2F%2Fevil.example.com%2Froot.tar&repo=alpine", alice: deny, admin: allow},
		{name: "load", method: "POST", uri: "/v1.41/images/load?quiet=1", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: deny, admin: allow},
		{name: "build remote untrusted tag", method: "POST", uri: "/v1.41/build?t=evil.example.com%2Fx", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: deny, admin: allow},
		{name: "push untrusted", method: "POST", uri: "/v1.41/images/evil.example.com%2Fx/push?tag=latest", alice: deny, admin: allow},

		// Daemon-wide.
		{name: "plugin pull", method: "POST", uri: "/v1.41/plugins/pull?remote=vieux%2Fsshfs&name=sshfs", body: []byte(`[{"Name":"network","Description":"","Value":["host"]}]`), alice: deny, admin: allow},
		{name: "plugin enable", method: "POST", uri: "/v1.41/plugins/sshfs/enable?timeout=0", alice: deny, admin: allow},
		{name: "plugin set", method: "POST", uri: "/v1.41/plugins/sshfs/set", body: []byte(`["DEBUG=1"]`), alice: deny, admin: allow},
		{name: "swarm init", method: "POST", uri: "/v1.41/swarm/init", body: []byte(`{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"","ForceNewCluster":false,"Spec":{}}`), alice: deny, admin: allow},
		{name: "swarm join", method: "POST", uri: "/v1.41/swarm/join", body: []byte(`{"ListenAddr":"0.0.0.0:2377","RemoteAddrs":["10.0.0.1:2377"],"JoinToken":"SWMTKN-1-x"}`), alice: deny, admin: allow},
		{name: "commit with changes", method: "POST", uri: "/v1.41/commit?container=web&repo=x&changes=USER+root", body: []byte(`{}`), alice: deny, admin: allow},
		{name: "cp into container", method: "PUT", uri: "/v1.41/containers/web/archive?path=%2Fetc", headers: map[string]string{"Content-Type": "application/x-tar"}, alice: deny, admin: allow},
		{name: "service create privileged mounts", method: "POST", uri: "/v1.41/services/create", body: []byte(`{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"alpine","Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]}}}`), alice: deny, admin: allow},

		// Paths and routes.
		{name: "double slash route", method: "POST", uri: "/v1.41//containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "dot segment route", method: "POST", uri: "/v1.41/containers/./create", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "dotdot route", method: "POST", uri: "/v1.41/images/../containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "encoded slash route", method: "POST", uri: "/v1.41/containers%2Fcreate", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "trailing slash route", method: "POST", uri: "/v1.41/containers/create/", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "upper-case version", method: "POST", uri: "/V1.41/containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "future api version", method: "POST", uri: "/v1.99/containers/create", body: createBody(nil, hc("Privileged", true)), alice: deny},
		{name: "unknown route", method: "POST", uri: "/v1.41/containers/web/escape", alice: deny, admin: allow, msg: "not a Docker API route"},
		{name: "unknown route with body", method: "POST", uri: "/v1.41/foo", body: []byte(`{"a":1}`), alice: deny},
		{name: "debug pprof", method: "GET", uri: "/debug/pprof/goroutine", alice: deny},
	}
}

// TestCorpus replays the corpus against the real binary.
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the plugin binary")
	}
	k := newPKI(t)
	p := startPlugin(t, k.caPath, filepath.Join(repoRoot(t), "examples", "shared-build-host"))
	decisions := 0
	for _, c := range corpus() {
		headers := c.headers
		if headers == nil {
			headers = map[string]string{}
			if c.body != nil {
				headers = jsonHeaders()
			}
		}
		for _, who := range []struct {
			name   string
			caller caller
			want   string
		}{{"alice", k.alice, c.alice}, {"admin", k.admin, c.admin}} {
			if who.want == skip {
				continue
			}
			t.Run(who.name+"/"+c.name, func(t *testing.T) {
				a := p.authZReq(t, who.caller, c.method, c.uri, headers, c.body)
				decisions++
				if got := map[bool]string{true: allow, false: deny}[a.Allow]; got != who.want {
					t.Fatalf("%s %s: got %s, want %s (msg %q, err %q)", c.method, c.uri, got, who.want, a.Msg, a.Err)
				}
				if !a.Allow {
					if a.Msg == "" {
						t.Errorf("deny without a message")
					}
					if who.name == "alice" && !strings.Contains(a.Msg, "alice") {
						t.Errorf("deny message does not name the user: %q", a.Msg)
					}
					if who.name == "alice" && c.msg != "" && !strings.Contains(a.Msg, c.msg) {
						t.Errorf("deny message %q does not mention %q", a.Msg, c.msg)
					}
				}
			})
		}
	}

	// Callers without a trusted identity get nothing, not even a ping.
	for _, who := range []struct {
		name string
		c    caller
	}{{"anonymous", k.anonymous}, {"other CA", k.otherCA}, {"forged first", k.swap}, {"user mismatch", k.mismatch}} {
		for _, r := range [][2]string{{"GET", "/_ping"}, {"GET", "/v1.41/containers/json"}, {"POST", "/v1.41/containers/web/stop"}} {
			t.Run("untrusted/"+who.name+r[1], func(t *testing.T) {
				a := p.authZReq(t, who.c, r[0], r[1], map[string]string{}, nil)
				decisions++
				if a.Allow || a.Msg == "" {
					t.Fatalf("%s %s by %s: allow=%v msg=%q", r[0], r[1], who.name, a.Allow, a.Msg)
				}
			})
		}
	}
	// A forged certificate after alice's leaf changes nothing: she stays a developer.
	t.Run("forged chain stays alice", func(t *testing.T) {
		a := p.authZReq(t, k.forged, "POST", "/v1.41/containers/create", jsonHeaders(), createBody(nil, hc("Privileged", true)))
		decisions++
		if a.Allow || !strings.Contains(a.Msg, "alice (group:developers)") {
			t.Fatalf("forged chain: allow=%v msg=%q", a.Allow, a.Msg)
		}
		a = p.authZReq(t, k.forged, "GET", "/v1.41/containers/json", map[string]string{}, nil)
		decisions++
		if !a.Allow {
			t.Fatalf("forged chain: alice's own rights lost: %q", a.Msg)
		}
	})
	// Malformed protocol messages are denies with a message.
	for _, m := range []struct {
		name string
		msg  any
	}{
		{"empty method", map[string]any{"RequestUri": "/_ping"}},
		{"empty uri", map[string]any{"RequestMethod": "GET"}},
		{"bad certificate", map[string]any{"RequestMethod": "GET", "RequestUri": "/_ping", "User": "alice", "RequestPeerCertificates": []string{"bm90IGEgY2VydA=="}}},
	} {
		t.Run("malformed/"+m.name, func(t *testing.T) {
			a := p.raw(t, "/AuthZPlugin.AuthZReq", m.msg)
			if a.Allow || (a.Msg == "" && a.Err == "") {
				t.Fatalf("allow=%v msg=%q err=%q", a.Allow, a.Msg, a.Err)
			}
		})
	}
	if t.Failed() {
		return
	}
	checkTrail(t, p, decisions)
}

// checkTrail stops nothing: it reads the trail written so far, which must
// hold one request record per decision (records are on disk before the
// answer), and runs the real `audit verify` on it.
func checkTrail(t *testing.T, p *plugin, decisions int) {
	t.Helper()
	f, err := os.Open(p.audit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	requests := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			Stage    string `json:"stage"`
			Decision string `json:"decision"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		if r.Stage == "request" {
			requests++
		}
	}
	// Malformed messages (no method or URI) are recorded too when they can
	// be attributed; at least every decided request must be there.
	if requests < decisions {
		t.Errorf("audit trail has %d request records for %d decisions", requests, decisions)
	}
	out, err := exec.Command(p.bin, "audit", "verify", p.audit).CombinedOutput()
	if err != nil {
		t.Errorf("audit verify: %v\n%s", err, out)
	}
}
