package request

import (
	"strings"
	"testing"
)

func TestRefs(t *testing.T) {
	for _, tc := range []struct {
		name, method, uri, body string
		want                    string // "kind:ref@source" joined by " "
	}{
		{"plain run", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"NetworkMode":"default"},"NetworkingConfig":{"EndpointsConfig":{}}}`, ""},
		{"built-in networks", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"NetworkMode":"none"},"NetworkingConfig":{"EndpointsConfig":{"none":{},"bridge":{},"host":{},"default":{}}}}`, ""},
		{"container namespace is not a network", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"NetworkMode":"container:web"}}`, ""},
		{"user-defined network", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"NetworkMode":"bobnet"},"NetworkingConfig":{"EndpointsConfig":{"bobnet":{},"other":{"Links":["db:alias"]}}}}`,
			`network:bobnet@HostConfig.NetworkMode network:other@NetworkingConfig.EndpointsConfig["other"] container:db@NetworkingConfig.EndpointsConfig["other"].Links[0]`},
		{"case matters as in dockerd", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"NetworkMode":"Bridge"}}`, `network:Bridge@HostConfig.NetworkMode`},
		{"links", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"Links":["bobdb:db","plain","/abs:/me/alias","a:b:c"]}}`,
			`container:bobdb@HostConfig.Links[0] container:plain@HostConfig.Links[1] container:abs@HostConfig.Links[2] container:a:b:c@HostConfig.Links[3]`},
		{"volumes-from", "POST", "/v1.41/containers/create", `{"Image":"alpine","HostConfig":{"VolumesFrom":["bobdata:ro","other"]}}`,
			`container:bobdata@HostConfig.VolumesFrom[0] container:other@HostConfig.VolumesFrom[1]`},
		{"legacy top-level host config", "POST", "/v1.24/containers/create", `{"Image":"alpine","Links":["bobdb:db"],"NetworkMode":"bobnet"}`,
			`container:bobdb@Links[0] network:bobnet@NetworkMode`},
		{"old start body", "POST", "/v1.23/containers/web/start", `{"Links":["bobdb:db"],"VolumesFrom":["bobdata"],"NetworkMode":"bobnet"}`,
			`container:bobdb@Links[0] container:bobdata@VolumesFrom[0] network:bobnet@NetworkMode`},
		{"service networks", "POST", "/v1.41/services/create", `{"TaskTemplate":{"ContainerSpec":{"Image":"alpine"},"Networks":[{"Target":"bobnet"},{"Target":"host"}]},"Networks":[{"Target":"old"}]}`,
			`network:bobnet@TaskTemplate.Networks[0].Target network:old@Networks[0].Target`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Normalize(Raw{Method: tc.method, URI: tc.uri, Body: []byte(tc.body), Headers: map[string]string{"Content-Type": "application/json"}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range f.Refs {
				got = append(got, r.Kind+":"+r.Ref+"@"+r.Source)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("refs\n got %s\nwant %s", g, tc.want)
			}
		})
	}
}
