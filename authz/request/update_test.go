package request

import (
	"strings"
	"testing"
)

func TestUpdateRaisesOnlyChangedLimits(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"Memory":67108864}`, "memory=67108864"},
		{`{"Memory":67108864,"MemorySwap":134217728}`, "memory=67108864"},
		{`{"NanoCpus":500000000}`, "cpus=500000000"},
		{`{"CpuQuota":50000,"CpuPeriod":100000}`, "cpus=500000000"},
		{`{"CpuQuota":50000}`, "cpus=0"},
		{`{"CpuPeriod":1000}`, "cpus=0"},
		{`{"CpuQuota":-1}`, "cpus=0"},
		{`{"PidsLimit":64}`, "pids-limit=64"},
		{`{"PidsLimit":0}`, "pids-limit=0"},
		{`{"PidsLimit":-1}`, "pids-limit=0"},
		{`{"RestartPolicy":{"Name":"always"}}`, ""},
		{`{"Memory":1073741824,"NanoCpus":1000000000,"PidsLimit":100}`, "memory=1073741824 cpus=1000000000 pids-limit=100"},
	} {
		f, err := Normalize(Raw{Method: "POST", URI: "/v1.41/containers/web/update", Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(tc.body)})
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		var got []string
		for _, x := range f.Facets {
			switch x.Kind {
			case KindMemory, KindCPUs, KindPidsLimit:
				got = append(got, x.String())
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s: facets %q, want %q", tc.body, g, tc.want)
		}
	}
}

func TestCreateKeepsOwnershipInputs(t *testing.T) {
	f, err := Normalize(Raw{Method: "POST", URI: "/v1.41/containers/create", Headers: map[string]string{"Content-Type": "application/json"},
		Body: []byte(`{"Image":"alpine","Labels":{"com.docker-authz.owner":"alice"}}`)})
	if err != nil || f.Labels["com.docker-authz.owner"] != "alice" {
		t.Fatalf("labels %v, %v", f, err)
	}
	f, err = Normalize(Raw{Method: "POST", URI: "/v1.41/networks/n/connect", Headers: map[string]string{"Content-Type": "application/json"},
		Body: []byte(`{"Container":"web"}`)})
	if err != nil || f.Container != "web" {
		t.Fatalf("container %v, %v", f, err)
	}
	f, err = Normalize(Raw{Method: "POST", URI: "/v1.41/volumes/create", Headers: map[string]string{"Content-Type": "application/json"},
		Body: []byte(`{"Name":"v","Labels":{"com.docker-authz.owner":"bob"}}`)})
	if err != nil || f.Labels["com.docker-authz.owner"] != "bob" {
		t.Fatalf("volume labels %v, %v", f, err)
	}
}
