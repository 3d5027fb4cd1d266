package request

import (
	"os"
	"strings"
	"testing"
)

// escalationKinds are the kinds a baseline profile denies (or restricts to
// allow-listed values). Benign controls must raise none of them.
var escalationKinds = map[string]bool{
	KindPrivileged: true, KindBind: true, KindCap: true, KindDevice: true, KindDeviceCgroup: true,
	KindDeviceRequest: true, KindHostNS: true, KindContainerNS: true, KindUnconfined: true,
	KindSysctl: true, KindCgroupParent: true, KindRuntime: true, KindOomKillDisable: true,
	KindVolumesFrom: true, KindVolumeDriver: true, KindPlugin: true, KindSwarm: true,
	KindImageImport: true, KindImageLoad: true, KindCommitChanges: true, KindArchivePut: true,
	KindNetworkDriver: true,
}

type normCase struct {
	name   string
	method string
	uri    string
	body   string
	hdr    map[string]string // nil: Content-Type application/json when body != ""
	want   []string          // facets "kind=value" that must be present
	not    []string          // kinds or "kind=value" that must be absent
	route  string            // expected route ("" = do not check)
	err    string            // substring of the expected error ("" = no error)
	benign bool              // no escalation kind may appear
}

func runCases(t *testing.T, cases []normCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := Raw{Method: tc.method, URI: tc.uri, Headers: tc.hdr}
			if tc.body != "" {
				raw.Body = []byte(tc.body)
				if raw.Headers == nil {
					raw.Headers = map[string]string{"Content-Type": "application/json"}
				}
			}
			f, err := Normalize(raw)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("want error containing %q, got facts %v", tc.err, facetStrings(f))
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q does not contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			got := facetStrings(f)
			if len(f.Facets) == 0 || f.Facets[0].Kind != KindRoute || f.Facets[0].Value != f.Route {
				t.Fatalf("first facet must be route=%s, got %v", f.Route, got)
			}
			if tc.route != "" && f.Route != tc.route {
				t.Fatalf("route = %q, want %q", f.Route, tc.route)
			}
			for _, w := range tc.want {
				if !contains(got, w) {
					t.Errorf("missing facet %s; got %v", w, got)
				}
			}
			for _, n := range tc.not {
				for _, g := range got {
					if g == n || strings.HasPrefix(g, n+"=") {
						t.Errorf("unexpected facet %s; got %v", g, got)
					}
				}
			}
			if tc.benign {
				for _, fc := range f.Facets {
					if escalationKinds[fc.Kind] {
						t.Errorf("benign request raised %s (source %s); all: %v", fc, fc.Source, got)
					}
				}
			}
			seen := map[string]bool{}
			for _, g := range got {
				if seen[g] {
					t.Errorf("duplicate facet %s in %v", g, got)
				}
				seen[g] = true
			}
		})
	}
}

func facetStrings(f *Facts) []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, x := range f.Facets {
		out = append(out, x.String())
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func hc(fields string) string {
	return `{"Image":"alpine","HostConfig":{` + fields + `}}`
}

func readGolden(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateGoldenBodies(t *testing.T) {
	runCases(t, []normCase{
		{name: "cli 20.10 run -p 8080:80 alpine", method: "POST", uri: "/v1.41/containers/create?name=web",
			body: readGolden(t, "create-cli-20.10.json"), route: "container:create", benign: true,
			want: []string{"image=docker.io/library/alpine:latest", "user=", "cap-drop=none", "no-new-privileges=false", "memory=0", "cpus=0", "pids-limit=0"}},
		{name: "cli 28 named volume, tmpfs, cap-drop, network", method: "POST", uri: "/v1.41/containers/create",
			body: readGolden(t, "create-cli-28.json"), benign: true,
			want: []string{"image=docker.io/library/alpine:3.20", "volume=cache", "volume=named", "cap-drop=partial"}},
	})
}

func TestCreatePrivileged(t *testing.T) {
	runCases(t, []normCase{
		{name: "privileged", method: "POST", uri: "/containers/create", body: hc(`"Privileged":true`), want: []string{"privileged=container"}},
		{name: "privileged false", method: "POST", uri: "/containers/create", body: hc(`"Privileged":false`), not: []string{"privileged"}},
		{name: "lower case key", method: "POST", uri: "/containers/create", body: hc(`"privileged":true`),
			err: `body key "privileged" in HostConfig differs from the API field "Privileged" only in case`},
		{name: "upper case key", method: "POST", uri: "/containers/create", body: hc(`"PRIVILEGED":true`), err: `"Privileged" only in case`},
		{name: "kelvin sign", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","HostConfig":{"Lin` + "\u212a" + `s":["x:y"]}}`,
			err: "Unicode case folding"},
		{name: "hostconfig key folded", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","hostconfig":{"Privileged":true}}`,
			err: `"HostConfig" only in case`},
		{name: "duplicate key", method: "POST", uri: "/containers/create", body: hc(`"Privileged":true,"Privileged":false`), err: `duplicate body key "Privileged"`},
		{name: "duplicate HostConfig", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","HostConfig":{"Privileged":true},"HostConfig":{}}`, err: "duplicate body key"},
		{name: "escaped key is the same key", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","HostConfig":{"Privil\u0065ged":true}}`, want: []string{"privileged=container"}},
		{name: "escaped duplicate", method: "POST", uri: "/containers/create", body: hc(`"Privileged":true,"Privil\u0065ged":false`), err: "duplicate"},
		{name: "legacy top-level Privileged", method: "POST", uri: "/v1.41/containers/create", body: `{"Image":"alpine","Privileged":true}`, want: []string{"privileged=container"}},
		{name: "legacy top-level next to HostConfig", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","Privileged":true,"HostConfig":{}}`, want: []string{"privileged=container"}},
		{name: "trailing data", method: "POST", uri: "/containers/create", body: hc(``) + `{"HostConfig":{"Privileged":true}}`, err: "not valid JSON"},
		{name: "unknown key", method: "POST", uri: "/containers/create", body: hc(`"Privileged2":true`), err: `unknown body key "Privileged2"`},
		{name: "invalid utf8", method: "POST", uri: "/containers/create", body: "{\"Image\":\"alp\xffine\"}", err: "UTF-8"},
		{name: "lone surrogate", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","Labels":{"a\ud800":"x"}}`, err: "surrogate"},
		{name: "wrong type", method: "POST", uri: "/containers/create", body: hc(`"Privileged":"true"`), err: "must be true or false"},
		{name: "null body", method: "POST", uri: "/containers/create", body: `null`, want: []string{"user="}, not: []string{"privileged"}},
		{name: "null HostConfig", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","HostConfig":null}`, not: []string{"privileged"}},
	})
}

func TestCreateBinds(t *testing.T) {
	runCases(t, []normCase{
		{name: "-v /:/host", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/:/host"]`), want: []string{"bind=/"}},
		{name: "-v /:/host:ro,z", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/:/host:ro,z"]`), want: []string{"bind=/"}},
		{name: "docker socket", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/var/run/docker.sock:/s"]`), want: []string{"bind=/var/run/docker.sock"}},
		{name: "unclean socket path", method: "POST", uri: "/containers/create", body: hc(`"Binds":["//var//run/./docker.sock:/s"]`), want: []string{"bind=/var/run/docker.sock"}},
		{name: "dotdot", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/etc/../:/h:rw"]`), want: []string{"bind=/"}},
		{name: "named volume is not a bind", method: "POST", uri: "/containers/create", body: hc(`"Binds":["data:/data"]`), want: []string{"volume=data"}, not: []string{"bind"}},
		{name: "anonymous volume", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/data"]`), not: []string{"bind", "volume"}},
		{name: "bad bind spec", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/a:/b:/c:/d"]`), err: "more than two"},
		{name: "bad mode", method: "POST", uri: "/containers/create", body: hc(`"Binds":["/a:/b:rx"]`), err: "invalid mode"},
		{name: "mount type bind", method: "POST", uri: "/containers/create", body: hc(`"Mounts":[{"Type":"bind","Source":"/","Target":"/h"}]`), want: []string{"bind=/"}},
		{name: "mount bind relative", method: "POST", uri: "/containers/create", body: hc(`"Mounts":[{"Type":"bind","Source":"etc","Target":"/h"}]`), err: "not absolute"},
		{name: "mount bind empty", method: "POST", uri: "/containers/create", body: hc(`"Mounts":[{"Type":"bind","Target":"/h"}]`), err: "empty host path"},
		{name: "mount type case", method: "POST", uri: "/containers/create", body: hc(`"Mounts":[{"Type":"BIND","Source":"/","Target":"/h"}]`), err: "not a mount type"},
		{name: "mount key case", method: "POST", uri: "/containers/create", body: hc(`"Mounts":[{"type":"bind","Source":"/","Target":"/h"}]`), err: `"Type" only in case`},
		{name: "mount volume local bind opts", method: "POST", uri: "/containers/create",
			body: hc(`"Mounts":[{"Type":"volume","Source":"v","Target":"/h","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/etc"}}}}]`),
			want: []string{"bind=/etc", "volume=v"}},
		{name: "mount tmpfs", method: "POST", uri: "/containers/create", body: hc(`"Mounts":[{"Type":"tmpfs","Target":"/tmp"}]`), benign: true},
		{name: "bind with Unicode folded key", method: "POST", uri: "/containers/create", body: hc(`"Bind` + "\u017f" + `":["/:/h"]`), err: `"Binds" only by Unicode case folding`},
		{name: "legacy top-level Binds", method: "POST", uri: "/v1.18/containers/create", body: `{"Image":"alpine","Binds":["/:/h"]}`, want: []string{"bind=/"}},
		{name: "Volumes key with host part", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","Volumes":{"/etc:/h":{}}}`, want: []string{"bind=/etc"}},
	})
}

func TestCreateCaps(t *testing.T) {
	runCases(t, []normCase{
		{name: "SYS_ADMIN", method: "POST", uri: "/containers/create", body: hc(`"CapAdd":["SYS_ADMIN"]`), want: []string{"cap=SYS_ADMIN"}},
		{name: "cap_ prefix lower", method: "POST", uri: "/containers/create", body: hc(`"CapAdd":["cap_sys_admin"]`), want: []string{"cap=SYS_ADMIN"}},
		{name: "ALL", method: "POST", uri: "/containers/create", body: hc(`"CapAdd":["all"]`), want: []string{"cap=ALL"}},
		{name: "string form (StrSlice)", method: "POST", uri: "/containers/create", body: hc(`"CapAdd":"NET_ADMIN"`), want: []string{"cap=NET_ADMIN"}},
		{name: "cap-drop all", method: "POST", uri: "/containers/create", body: hc(`"CapDrop":["CAP_ALL"]`), want: []string{"cap-drop=all"}, benign: true},
		{name: "cap-drop partial", method: "POST", uri: "/containers/create", body: hc(`"CapDrop":["NET_RAW"]`), want: []string{"cap-drop=partial"}, benign: true},
	})
}

func TestCreateTransport(t *testing.T) {
	runCases(t, []normCase{
		{name: "create without body (CVE-2026-34040 / CVE-2024-41110)", method: "POST", uri: "/v1.41/containers/create",
			hdr: map[string]string{"Content-Type": "application/json", "Content-Length": "2000000"}, err: "requires a JSON body but none was forwarded"},
		{name: "create without any header", method: "POST", uri: "/containers/create", err: "requires a JSON body"},
		{name: "text/plain body", method: "POST", uri: "/containers/create", body: hc(`"Privileged":true`), hdr: map[string]string{"Content-Type": "text/plain"}, err: "only application/json"},
		{name: "json with charset", method: "POST", uri: "/containers/create", body: hc(``), hdr: map[string]string{"Content-Type": "application/json; charset=utf-8"}, benign: true},
		{name: "json upper case media type", method: "POST", uri: "/containers/create", body: hc(``), hdr: map[string]string{"content-type": "Application/JSON"}, benign: true},
		{name: "form urlencoded", method: "POST", uri: "/images/create?fromImage=alpine&tag=latest", hdr: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "30"}, err: "x-www-form-urlencoded"},
		{name: "pull with an unforwarded body", method: "POST", uri: "/images/create?fromImage=alpine&tag=latest", hdr: map[string]string{"Content-Type": "text/plain", "Content-Length": "40"}, err: "takes no body"},
		{name: "body over 1 MiB forwarded anyway", method: "POST", uri: "/containers/create", body: `{"Image":"alpine","Labels":{"x":"` + strings.Repeat("a", 1<<20) + `"}}`, err: "1 MiB"},
	})
}
