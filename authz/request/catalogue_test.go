package request

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
)

func TestCreateOtherFacets(t *testing.T) {
	runCases(t, []normCase{
		{name: "device", method: "POST", uri: "/containers/create", body: hc(`"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda","CgroupPermissions":"rwm"}]`), want: []string{"device=/dev/sda"}},
		{name: "device cgroup rule", method: "POST", uri: "/containers/create", body: hc(`"DeviceCgroupRules":["b 8:* rmw"]`), want: []string{"device-cgroup-rule=b 8:* rmw"}},
		{name: "gpus all", method: "POST", uri: "/containers/create", body: hc(`"DeviceRequests":[{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}]`), want: []string{"device-request=gpu"}},
		{name: "pid host", method: "POST", uri: "/containers/create", body: hc(`"PidMode":"host"`), want: []string{"hostns=pid"}},
		{name: "net host", method: "POST", uri: "/containers/create", body: hc(`"NetworkMode":"host"`), want: []string{"hostns=network"}},
		{name: "net HOST", method: "POST", uri: "/containers/create", body: hc(`"NetworkMode":"HOST"`), want: []string{"hostns=network"}},
		{name: "ipc uts userns cgroupns host", method: "POST", uri: "/containers/create", body: hc(`"IpcMode":"host","UTSMode":"host","UsernsMode":"host","CgroupnsMode":"host"`),
			want: []string{"hostns=ipc", "hostns=uts", "hostns=userns", "hostns=cgroupns"}},
		{name: "join container pid ns", method: "POST", uri: "/containers/create", body: hc(`"PidMode":"container:abc"`), want: []string{"container-ns=pid:container:abc"}},
		{name: "endpoint host", method: "POST", uri: "/containers/create", body: `{"Image":"a","NetworkingConfig":{"EndpointsConfig":{"host":{}}}}`, want: []string{"hostns=network"}},
		{name: "seccomp=unconfined", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["seccomp=unconfined"]`), want: []string{"unconfined=seccomp"}},
		{name: "seccomp:unconfined", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["seccomp:unconfined"]`), want: []string{"unconfined=seccomp"}},
		{name: "no-new-privileges=false", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["no-new-privileges=false"]`), want: []string{"unconfined=no-new-privileges"}},
		{name: "no-new-privileges:false", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["no-new-privileges:false"]`), want: []string{"unconfined=no-new-privileges"}},
		{name: "seccomp profile json", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]`), want: []string{"unconfined=seccomp-profile"}},
		{name: "apparmor=unconfined", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["apparmor=unconfined"]`), want: []string{"unconfined=apparmor"}},
		{name: "apparmor default is fine", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["apparmor=docker-default"]`), benign: true},
		{name: "label=disable", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["label=disable"]`), want: []string{"unconfined=label"}},
		{name: "label:disable", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["label:disable"]`), want: []string{"unconfined=label"}},
		{name: "bare disable", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["disable"]`), want: []string{"unconfined=label"}},
		{name: "systempaths", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["systempaths=unconfined"]`), want: []string{"unconfined=systempaths"}},
		{name: "empty MaskedPaths", method: "POST", uri: "/containers/create", body: hc(`"MaskedPaths":[],"ReadonlyPaths":[]`), want: []string{"unconfined=maskedpaths", "unconfined=readonlypaths"}},
		{name: "null MaskedPaths is the default", method: "POST", uri: "/containers/create", body: hc(`"MaskedPaths":null`), benign: true},
		{name: "unknown security opt", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["foo=bar"]`), err: "unknown security option"},
		{name: "no-new-privileges", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["no-new-privileges"]`), want: []string{"no-new-privileges=true"}, benign: true},
		{name: "no-new-privileges:false", method: "POST", uri: "/containers/create", body: hc(`"SecurityOpt":["no-new-privileges=true","no-new-privileges:false"]`), want: []string{"no-new-privileges=false"}},
		{name: "sysctl", method: "POST", uri: "/containers/create", body: hc(`"Sysctls":{"Kernel/Shm_rmid_forced":"1"}`), want: []string{"sysctl=kernel.shm_rmid_forced"}},
		{name: "cgroup parent", method: "POST", uri: "/containers/create", body: hc(`"CgroupParent":"/"`), want: []string{"cgroup-parent=/"}},
		{name: "runtime", method: "POST", uri: "/containers/create", body: hc(`"Runtime":"runc-debug"`), want: []string{"runtime=runc-debug"}},
		{name: "oom kill disable", method: "POST", uri: "/containers/create", body: hc(`"OomKillDisable":true`), want: []string{"oom-kill-disable=true"}},
		{name: "volumes-from", method: "POST", uri: "/containers/create", body: hc(`"VolumesFrom":["other:ro"]`), want: []string{"volumes-from=other:ro"}},
		{name: "resources", method: "POST", uri: "/containers/create", body: `{"Image":"a","User":"1000:1000","HostConfig":{"Memory":268435456,"CpuQuota":50000,"CpuPeriod":100000,"PidsLimit":100}}`,
			want: []string{"user=1000:1000", "memory=268435456", "cpus=500000000", "pids-limit=100"}, benign: true},
		{name: "nano cpus, negative pids", method: "POST", uri: "/containers/create", body: hc(`"NanoCpus":1500000000,"PidsLimit":-1`), want: []string{"cpus=1500000000", "pids-limit=0"}},
		{name: "legacy top-level memory merged", method: "POST", uri: "/containers/create", body: `{"Image":"a","Memory":1024,"HostConfig":{}}`, want: []string{"memory=1024"}},
		{name: "image with registry", method: "POST", uri: "/containers/create", body: `{"Image":"evil.example:5000/x/y:1"}`, want: []string{"image=evil.example:5000/x/y:1"}},
		{name: "image digest", method: "POST", uri: "/containers/create", body: `{"Image":"alpine@sha256:` + hex64 + `"}`, want: []string{"image=docker.io/library/alpine@sha256:" + hex64}},
		{name: "image id", method: "POST", uri: "/containers/create", body: `{"Image":"sha256:` + hex64 + `"}`, want: []string{"image=id:" + hex64}},
		{name: "image short id", method: "POST", uri: "/containers/create", body: `{"Image":"0123456789ab"}`, want: []string{"image=id:0123456789ab"}},
		{name: "bad image", method: "POST", uri: "/containers/create", body: `{"Image":"Alpine"}`, err: "lowercase"},
	})
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestOtherRoutes(t *testing.T) {
	runCases(t, []normCase{
		// legacy start with HostConfig body
		{name: "v1.23 start with binds", method: "POST", uri: "/v1.23/containers/web/start", body: `{"Binds":["/:/host"],"Privileged":true,"CapAdd":["SYS_ADMIN"]}`,
			want: []string{"bind=/", "privileged=container", "cap=SYS_ADMIN"}},
		{name: "v1.23 start with an unforwarded body", method: "POST", uri: "/v1.23/containers/web/start", hdr: map[string]string{"Content-Length": "4000000"}, err: "HostConfig"},
		{name: "v1.41 start with body refused", method: "POST", uri: "/v1.41/containers/web/start", body: `{"Binds":["/:/host"]}`, err: "since API 1.24"},
		{name: "v1.41 start with {}", method: "POST", uri: "/v1.41/containers/web/start", body: `{}`, benign: true},
		{name: "plain start", method: "POST", uri: "/v1.41/containers/web/start", hdr: map[string]string{"Content-Type": "text/plain", "Content-Length": "0"}, benign: true, route: "container:start"},
		// exec
		{name: "exec", method: "POST", uri: "/v1.41/containers/web/exec", body: `{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["ls"]}`,
			benign: true, want: []string{"user="}, route: "container:exec"},
		{name: "exec privileged", method: "POST", uri: "/containers/web/exec", body: `{"Privileged":true,"User":"root","Cmd":["sh"]}`, want: []string{"privileged=exec", "user=root"}},
		{name: "exec privileged lower", method: "POST", uri: "/containers/web/exec", body: `{"privileged":true,"Cmd":["sh"]}`, err: "only in case"},
		{name: "exec start", method: "POST", uri: "/exec/abc/start", body: `{"Detach":false,"Tty":false}`, benign: true},
		// update
		{name: "update", method: "POST", uri: "/containers/web/update", body: `{"Memory":0,"CpuQuota":0,"RestartPolicy":{"Name":"","MaximumRetryCount":0}}`, benign: true, not: []string{"memory", "cpus", "pids-limit"}}, // zero = unchanged on update (update.go)
		{name: "update devices", method: "POST", uri: "/containers/web/update", body: `{"Devices":[{"PathOnHost":"/dev/mem"}],"CgroupParent":"/"}`, want: []string{"device=/dev/mem", "cgroup-parent=/"}},
		// volumes
		{name: "volume create bind", method: "POST", uri: "/volumes/create", body: `{"Name":"v","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"},"Labels":{}}`, want: []string{"bind=/"}},
		{name: "volume create bind empty driver", method: "POST", uri: "/volumes/create", body: `{"Name":"v","DriverOpts":{"o":"rbind,ro","device":"/etc/../root"}}`, want: []string{"bind=/root"}},
		{name: "volume create bind relative", method: "POST", uri: "/volumes/create", body: `{"Name":"v","DriverOpts":{"type":"none","o":"bind","device":"etc"}}`, err: "not absolute"},
		{name: "volume create blockdev", method: "POST", uri: "/volumes/create", body: `{"Name":"v","DriverOpts":{"type":"ext4","device":"/dev/sda1"}}`, want: []string{"device=/dev/sda1"}},
		{name: "volume create opt case", method: "POST", uri: "/volumes/create", body: `{"Name":"v","DriverOpts":{"Type":"none","o":"bind","device":"/"}}`, err: "not one of type"},
		{name: "volume create plain", method: "POST", uri: "/volumes/create", body: `{"Driver":"local","DriverOpts":{},"Labels":{},"Name":"data"}`, benign: true},
		{name: "volume create other driver", method: "POST", uri: "/volumes/create", body: `{"Name":"v","Driver":"local-persist","DriverOpts":{"mountpoint":"/"}}`, want: []string{"volume-driver=local-persist"}},
		// images
		{name: "pull alpine", method: "POST", uri: "/v1.41/images/create?fromImage=alpine&tag=latest", hdr: map[string]string{"Content-Type": "text/plain", "Content-Length": "0"}, benign: true, want: []string{"image=docker.io/library/alpine:latest"}},
		{name: "pull untrusted", method: "POST", uri: "/images/create?fromImage=evil.example%2Fx&tag=1", want: []string{"image=evil.example/x:1"}},
		{name: "pull digest tag", method: "POST", uri: "/images/create?fromImage=alpine&tag=sha256:" + hex64, want: []string{"image=docker.io/library/alpine@sha256:" + hex64}},
		{name: "pull all tags", method: "POST", uri: "/images/create?fromImage=library/alpine", want: []string{"image=docker.io/library/alpine"}},
		{name: "pull tag in fromImage overridden", method: "POST", uri: "/images/create?fromImage=alpine:3&tag=edge", want: []string{"image=docker.io/library/alpine:edge"}},
		{name: "import", method: "POST", uri: "/images/create?fromSrc=-&repo=alpine", want: []string{"image-import=-", "image=docker.io/library/alpine:latest"}},
		{name: "load", method: "POST", uri: "/images/load?quiet=1", want: []string{"image-load=tarball"}},
		{name: "tag", method: "POST", uri: "/images/abc/tag?repo=registry.internal.example/team/app&tag=v1", want: []string{"image=registry.internal.example/team/app:v1"}},
		{name: "push", method: "POST", uri: "/images/registry.internal.example/team/app/push?tag=v1", want: []string{"image=registry.internal.example/team/app:v1"}},
		{name: "list images", method: "GET", uri: "/v1.41/images/json", benign: true, route: "image:list"},
		{name: "ps", method: "GET", uri: "/v1.41/containers/json?all=1", benign: true, route: "container:list"},
		{name: "logs", method: "GET", uri: "/v1.41/containers/web/logs?stdout=1&stderr=1", benign: true, route: "container:logs"},
		// build
		{name: "build", method: "POST", uri: "/v1.41/build?t=app%3Adev&rm=1", hdr: map[string]string{"Content-Type": "application/x-tar", "Content-Length": "10240"}, benign: true, want: []string{"build=context", "image=docker.io/library/app:dev"}},
		{name: "build network host", method: "POST", uri: "/build?networkmode=host", want: []string{"hostns=network"}},
		{name: "build cgroupparent and securityopt", method: "POST", uri: "/build?cgroupparent=%2F&securityopt=seccomp%3Dunconfined", want: []string{"cgroup-parent=/", "unconfined=seccomp"}},
		{name: "build remote", method: "POST", uri: "/build?remote=https%3A%2F%2Fexample.com%2Fr.git", want: []string{"build=remote:https://example.com/r.git"}},
		{name: "build remote with credentials", method: "POST", uri: "/build?remote=https%3A%2F%2Falice%3Aghp_SECRET%40github.com%2Facme%2Fapp.git%23main", want: []string{"build=remote:https://github.com/acme/app.git#main"}},
		{name: "build remote unparsable url with credentials", method: "POST", uri: "/build?remote=https%3A%2F%2Fu%3At0k%40host%2F%25zz", want: []string{"build=remote:https://host/%zz"}},
		{name: "build remote at sign in path", method: "POST", uri: "/build?remote=https%3A%2F%2Fhost%2Fa%40b.git", want: []string{"build=remote:https://host/a@b.git"}},
		{name: "build remote scp-like with credentials", method: "POST", uri: "/build?remote=alice%3AS3CRET%40github.com%3Aacme%2Fapp.git", want: []string{"build=remote:github.com:acme/app.git"}},
		{name: "build bad tag", method: "POST", uri: "/build?t=UPPER", err: "lowercase"},
		// commit, archive
		{name: "commit changes", method: "POST", uri: "/commit?container=web&repo=app&changes=USER+root&changes=CMD+sh", want: []string{"commit-changes=USER root", "commit-changes=CMD sh", "image=docker.io/library/app:latest"}},
		{name: "archive put", method: "PUT", uri: "/containers/web/archive?path=%2Fetc", hdr: map[string]string{"Content-Type": "application/x-tar", "Content-Length": "512"}, want: []string{"archive-put=/etc"}},
		// plugins & swarm
		{name: "plugin install", method: "POST", uri: "/plugins/pull?remote=vieux/sshfs&name=sshfs", body: `[{"Name":"network","Description":"","Value":["host"]}]`, want: []string{"plugin=install", "privileged=plugin"}},
		{name: "plugin set", method: "POST", uri: "/plugins/sshfs/set", body: `["DEBUG=1"]`, want: []string{"plugin=set"}},
		{name: "plugin enable", method: "POST", uri: "/plugins/sshfs/enable?timeout=0", want: []string{"plugin=enable"}},
		{name: "plugin pull without body", method: "POST", uri: "/plugins/pull?remote=x", err: "requires a JSON body"},
		{name: "swarm init", method: "POST", uri: "/swarm/init", body: `{"ListenAddr":"0.0.0.0:2377","AdvertiseAddr":"","ForceNewCluster":false,"Spec":{}}`, want: []string{"swarm=init"}},
		{name: "swarm join", method: "POST", uri: "/swarm/join", body: `{"ListenAddr":"0.0.0.0:2377","RemoteAddrs":["10.0.0.1:2377"],"JoinToken":"x"}`, want: []string{"swarm=join"}},
		{name: "swarm leave", method: "POST", uri: "/swarm/leave?force=1", want: []string{"swarm=leave"}},
		// services
		{name: "service bind + caps", method: "POST", uri: "/services/create", body: `{"Name":"s","TaskTemplate":{"ContainerSpec":{"Image":"alpine","Mounts":[{"Type":"bind","Source":"/var/run/docker.sock","Target":"/s"}],"CapabilityAdd":["CAP_SYS_ADMIN"],"Sysctls":{"net.ipv4.ip_forward":"1"},"Privileges":{"SELinuxContext":{"Disable":true}}},"Networks":[{"Target":"host"}]}}`,
			want: []string{"bind=/var/run/docker.sock", "cap=SYS_ADMIN", "sysctl=net.ipv4.ip_forward", "unconfined=label", "hostns=network", "image=docker.io/library/alpine:latest"}},
		{name: "service key case", method: "POST", uri: "/services/create", body: `{"TaskTemplate":{"containerSpec":{"Image":"a"}}}`, err: `"ContainerSpec" only in case`},
		{name: "service plugin runtime", method: "POST", uri: "/services/s/update?version=3", body: `{"TaskTemplate":{"PluginSpec":{"name":"p","remote":"x/y","privileges":[{"name":"network","value":["host"]}]}}}`,
			want: []string{"plugin=install", "privileged=plugin"}},
		// networks
		{name: "network create macvlan", method: "POST", uri: "/networks/create", body: `{"Name":"n","Driver":"macvlan","Options":{"parent":"eth0"}}`, want: []string{"network-driver=macvlan"}},
		{name: "network create bridge", method: "POST", uri: "/networks/create", body: `{"Name":"n","CheckDuplicate":true,"Driver":"bridge","Internal":false,"Attachable":false,"Ingress":false,"IPAM":{"Driver":"default","Config":[],"Options":{}},"EnableIPv6":false,"Options":{},"Labels":{}}`, benign: true},
		{name: "network connect host", method: "POST", uri: "/networks/host/connect", body: `{"Container":"web"}`, want: []string{"hostns=network"}},
		// unknown routes
		{name: "unknown route", method: "GET", uri: "/v1.41/nothing/here", route: RouteUnknown, benign: true},
		{name: "unknown route with body", method: "POST", uri: "/v1.41/containers/create/", body: `{"Image":"a"}`, err: "not a Docker API 1.41 route but carries a body"},
		{name: "unknown route with unforwarded body", method: "POST", uri: "/x", hdr: map[string]string{"Transfer-Encoding": "chunked"}, err: "not a Docker API 1.41 route"},
		{name: "body-less route with unforwarded body", method: "POST", uri: "/images/abc/tag?repo=alpine", hdr: map[string]string{"Content-Length": "12"}, err: "not forwarded"},
		{name: "body-less route with JSON body ignored", method: "POST", uri: "/containers/web/stop", body: `{}`, benign: true},
		{name: "body-less route with invalid JSON", method: "POST", uri: "/containers/web/stop", body: `{"a":1,"a":2}`, err: "duplicate"},
	})
}

func TestImageNormalisation(t *testing.T) {
	cases := map[string]string{
		"alpine":                         "docker.io/library/alpine:latest",
		"alpine:3.20":                    "docker.io/library/alpine:3.20",
		"library/alpine":                 "docker.io/library/alpine:latest",
		"docker.io/alpine":               "docker.io/library/alpine:latest",
		"index.docker.io/library/alpine": "docker.io/library/alpine:latest",
		"a/b":                            "docker.io/a/b:latest",
		"reg:5000/x":                     "reg:5000/x:latest",
		"localhost/x:1":                  "localhost/x:1",
		"Registry.Example/x":             "Registry.Example/x:latest",
		"ghcr.io/o/r/s:v1":               "ghcr.io/o/r/s:v1",
		"alpine@sha256:" + hex64:         "docker.io/library/alpine@sha256:" + hex64,
		"alpine:3@sha256:" + hex64:       "docker.io/library/alpine:3@sha256:" + hex64,
		"sha256:" + hex64:                "id:" + hex64,
		"0123456789ab":                   "id:0123456789ab",
		"a__b/c-d/e.f":                   "docker.io/a__b/c-d/e.f:latest",
	}
	for in, want := range cases {
		got, err := NormalizeImage(in)
		if err != nil || got != want {
			t.Errorf("NormalizeImage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Alpine", "a//b", "-a", "a:", "a:-x", "a@sha256:123", "a/B", "reg:/x", "a b", "alpine:" + string(make([]byte, 0)) + "t\u00e9"} {
		if got, err := NormalizeImage(bad); err == nil {
			t.Errorf("NormalizeImage(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLegacyStartWrapper(t *testing.T) {
	runCases(t, []normCase{
		{name: "v1.20 start with HostConfig object", method: "POST", uri: "/v1.20/containers/web/start", body: `{"HostConfig":{"Binds":["/etc:/e:ro"],"PidMode":"host"}}`,
			want: []string{"bind=/etc", "hostns=pid"}, not: []string{"user", "memory"}},
		{name: "v1.20 start lower-case key", method: "POST", uri: "/v1.20/containers/web/start", body: `{"binds":["/:/h"]}`, err: `"Binds" only in case`},
	})
}

// TestCreateBodyFieldSet checks that the wrapper exposes every JSON field of
// container.Config and container.HostConfig (no name is lost to an
// encoding/json ambiguity) plus HostConfig, NetworkingConfig and Cpuset.
func TestCreateBodyFieldSet(t *testing.T) {
	si := getStructInfo(reflect.TypeFor[createBody]())
	for _, typ := range []reflect.Type{reflect.TypeFor[container.Config](), reflect.TypeFor[container.HostConfig]()} {
		for _, f := range getStructInfo(typ).list {
			if si.fields[f.name] == nil {
				t.Errorf("createBody lost field %s of %s", f.name, typ)
			}
		}
	}
	for _, n := range []string{"HostConfig", "NetworkingConfig", "Cpuset", "Privileged", "Binds", "Image", "Memory", "CpuShares"} {
		if si.fields[n] == nil {
			t.Errorf("createBody has no field %s", n)
		}
	}
	if f := si.fields["HostConfig"]; f == nil || f.typ != reflect.TypeFor[*container.HostConfig]() {
		t.Errorf("HostConfig key is not the inner host config")
	}
	// ignored keys must never fold to a real field
	for label, keys := range ignoredKeys {
		for k := range keys {
			for _, typ := range []reflect.Type{reflect.TypeFor[container.HostConfig](), reflect.TypeFor[network.EndpointSettings](), reflect.TypeFor[container.HealthConfig]()} {
				s := getStructInfo(typ)
				if s.label == label && s.foldsToField(k) {
					t.Errorf("ignored key %s of %s folds to a real field", k, label)
				}
			}
		}
	}
}

func TestStrictDecodeMessages(t *testing.T) {
	cases := []struct{ body, err string }{
		{`{"HostConfig":{"Binds":["/:/h"]}}  x`, "not valid JSON"},
		{`{"HostConfig":{"Sysctls":{"a":"1","a":"2"}}}`, `duplicate key "a" in HostConfig.Sysctls`},
		{`{"HostConfig":{"Mounts":[{"Type":"bind"},{"Type":"bind","type":"x"}]}}`, `in HostConfig.Mounts[1]`},
		{`{"HostConfig":{"LogConfig":{"Config":{"k":{}}}}}`, "must be a JSON string"},
		{`{"Labels":{"x":"` + strings.Repeat("a", 10) + `"},"Healthcheck":{"StartInterval":1}}`, ""},
		{`{"NetworkingConfig":{"EndpointsConfig":{"n":{"GwPriority":1,"DNSNames":null}}}}`, ""},
		{`{"NetworkingConfig":{"EndpointsConfig":{"n":{"gwpriority":1}}}}`, `unknown body key "gwpriority"`},
		{strings.Repeat(`{"Labels":`, 1) + `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}`, "must be a JSON string"},
	}
	for _, c := range cases {
		var b createBody
		err := StrictDecode([]byte(c.body), &b)
		if c.err == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want %q", c.body, err, c.err)
		}
	}
	var x any
	if err := StrictDecode([]byte(strings.Repeat("[", 100)+strings.Repeat("]", 100)), &x); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("deep nesting: %v", err)
	}
}
