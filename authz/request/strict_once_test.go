package request

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/volume"
)

// The single-pass decoder (decodeOnce) must give exactly what the reference
// path (strictCheck + encoding/json) gives: the same value on success, the
// same error text on failure. These tests and FuzzStrictDecodeOnce pin that.

type onceEmbedded struct {
	Inner string
	Deep  *onceDeep
}

type onceDeep struct{ N int8 }

type onceQuoted struct {
	N int `json:",string"`
}

type onceAll struct {
	*onceEmbedded `json:",omitempty"`
	*container.Config
	S     string
	B     bool
	I     int
	I8    int8
	U16   uint16
	F32   float32
	F     float64
	P     *int
	PP    **string
	Arr   [2]uint
	Sl    []string
	SlP   []*onceDeep
	Bytes []byte
	M     map[string]int
	MP    map[string]*onceDeep
	MI    map[int]string
	Num   json.Number
	Any   any
	T     time.Time
	D     time.Duration
	Raw   json.RawMessage
	Q     *onceQuoted
	Nest  [][]int
}

var onceInputs = []string{
	`{}`, `null`, `[]`, `"x"`, `1`, ` {"S":"a"} `, `{"S":"a"} x`, `{"S":"a"}{}`,
	`{"S":"a\u00e9\n\"","B":true,"I":-42,"I8":127,"U16":65535,"F32":1.5e3,"F":-0.25}`,
	`{"I8":128}`, `{"I8":-129}`, `{"I":1.0}`, `{"I":1e2}`, `{"U16":-1}`, `{"U16":65536}`,
	`{"I":9223372036854775807}`, `{"I":-9223372036854775808}`, `{"I":9223372036854775808}`,
	`{"I":-0}`, `{"U16":-0}`, `{"F32":1e39}`, `{"F":1e400}`, `{"I":123456789012345678901234}`,
	`{"P":null}`, `{"P":5}`, `{"PP":"x"}`, `{"PP":null}`,
	`{"Arr":[1]}`, `{"Arr":[1,2,3]}`, `{"Arr":[]}`, `{"Arr":null}`, `{"Arr":[-1]}`,
	`{"Sl":[]}`, `{"Sl":null}`, `{"Sl":["a","b","c","d","e","f","g","h","i"]}`, `{"Sl":[1]}`,
	`{"SlP":[{"N":1},null,{}]}`, `{"Nest":[[1,2],[],null,[3]]}`,
	`{"Bytes":"aGk="}`, `{"Bytes":"!!"}`, `{"Bytes":[1,2]}`, `{"Bytes":null}`,
	`{"M":{}}`, `{"M":{"a":1,"b":2}}`, `{"M":{"a":1,"a":2}}`, `{"M":null}`, `{"M":{"a":"x"}}`,
	`{"MP":{"a":{"N":1},"b":null}}`, `{"MI":{"1":"a","-2":"b"}}`, `{"MI":{"x":"a"}}`,
	`{"Num":"12.5"}`, `{"Num":"abc"}`, `{"Num":3}`, `{"Any":{"a":[1,"x",null,true]}}`, `{"Any":null}`,
	`{"T":"2024-01-02T03:04:05Z"}`, `{"T":"yesterday"}`, `{"T":null}`, `{"D":5}`,
	`{"Raw":{"a":1}}`, `{"Raw":null}`, `{"Q":{"N":"5"}}`, `{"Q":null}`, `{"Q":{}}`,
	`{"Inner":"x"}`, `{"Deep":null}`, `{"Deep":{"N":3}}`, `{"Image":"alpine","Cmd":["a"]}`, `{"Hostname":null}`,
	`{"Cmd":"sh"}`, `{"Cmd":null}`, `{"Entrypoint":[]}`, `{"ExposedPorts":{"80/tcp":{}}}`,
	`{"s":"x"}`, `{"Unknown":1}`, `{"S":"a","S":"b"}`, `{"S":1}`, `{"B":"true"}`, `{"I":"1"}`,
	`{"S":"\ud800"}`, "{\"S\":\"\xff\"}", `{"S":"a"`, `{"Sl":[1,]}`,
	// syntax the single pass must refuse the way json.Valid does
	`{"S":"a\u00"}`, `{"S":"a\u00zz"}`, `{"S":"\q"}`, `{"S":"\`, "{\"S\":\"a\x01\"}", `{"S" "a"}`, `{"S":"a",}`,
	`{,"S":"a"}`, `{"S":"a"]`, `{"Sl":["a" "b"]}`, `{"Sl":["a",]}`, `{"Sl":["a"}`, `{"Cmd":["a",]}`, `{"Cmd":["a" "b"]}`,
	`{"Cmd":nul}`, `{"Cmd":["a"}`, `{"B":tru}`, `{"B":falsey}`, `{"P":nul}`, `{"Any":[1,2,]}`, `{"Any":{"a":1,}}`,
	`{"I":-}`, `{"I":01}`, `{"I":1.}`, `{"I":.5}`, `{"F":1e}`, `{"F":1e+}`, `{"F":-0.5e-3}`, `{"I":--1}`, `{"F":1.5.5}`,
	`{"M":{"a":1 "b":2}}`, `{"M":{"a":}}`, `{"Arr":[1,2,3,]}`, `{"Nest":[[1,2],[3]`, `{"S":"a"} {"S":"b"}`, `{"S":"a"}]`,
	`{"S":"\ud83d\ude00"}`, `{"S":"\ud83d\u0041"}`, `{"S":"\u00e9\n\t\/\b\f\r"}`, ` `, ``, `{"Cmd":"a\u0000"}`,
	// the single pass's shortcuts: scalars stored in place, strings eight
	// bytes at a time, StrSlice elements in one string, keys out of order
	`{"Hostname":"a-long-host-name-over-eight-bytes","Domainname":"x\"y","User":"a\u00e9b12345678"}`,
	`{"Cmd":["a","","b\u00e9c","d"],"Entrypoint":["1","2","3","4","5","6","7","8","9"]}`, `{"Cmd":[]}`, `{"Cmd":""}`,
	`{"Cmd":["a",1]}`, `{"Cmd":["a",null]}`, `{"Entrypoint":"sh"}`,
	`{"Sl":["a","b"],"Arr":[1,2],"F32":-1.5e-3,"U16":7,"I8":-128,"B":false,"S":"","P":null}`,
	`{"OpenStdin":true,"Tty":false,"StopTimeout":5,"Image":"alpine","Hostname":"h"}`,
	`{"HostConfig":{"Memory":1,"CpuShares":-2,"OomKillDisable":true,"PidsLimit":5,"ShmSize":1e3}}`,
	`{"HostConfig":{"ConsoleSize":[1,2,3]}}`, `{"HostConfig":{"ConsoleSize":[-1,0]}}`, `{"HostConfig":{"Memory":1.5}}`,
	`{"Memory":5,"HostConfig":{"Memory":0}}`, `{"NetworkingConfig":{"EndpointsConfig":{"n":{"DNSNames":["a"],"GwPriority":1}}}}`,
	`{"NetworkingConfig":{"EndpointsConfig":{"n":{"dnsnames":["a"]}}}}`, `{"HostConfig":{"Annotations":{"a":"b"}}}`,
	"{\"Image\" : \"a\" ,\n \"Cmd\" : [ \"x\" , \"y\" ] }", `{"ExposedPorts":{"80/tcp":{},"443/tcp":{}},"Labels":{"a":"1","b":"2"}}`,
}

func sameAsReference[T any](t *testing.T, data []byte) {
	t.Helper()
	var fast T
	errFast := StrictDecode(data, &fast)
	var ref T
	errRef := strictDecodeRef(data, reflect.ValueOf(&ref))
	switch {
	case (errFast == nil) != (errRef == nil):
		t.Fatalf("%T %q: StrictDecode error %v, reference error %v", fast, data, errFast, errRef)
	case errFast != nil && errFast.Error() != errRef.Error():
		t.Fatalf("%T %q: error text differs:\n  %v\n  %v", fast, data, errFast, errRef)
	case errFast == nil && !reflect.DeepEqual(fast, ref):
		t.Fatalf("%T %q: values differ:\n  %#v\n  %#v", fast, data, fast, ref)
	}
	if errFast == nil && errRef == nil {
		// Whatever is accepted decodes like plain encoding/json too.
		var plain T
		if err := json.Unmarshal(data, &plain); err != nil || !reflect.DeepEqual(fast, plain) {
			t.Fatalf("%T %q: encoding/json gives %#v (%v), StrictDecode %#v", fast, data, plain, err, fast)
		}
	}
}

func checkAllTypes(t *testing.T, data []byte) {
	t.Helper()
	sameAsReference[onceAll](t, data)
	sameAsReference[*onceAll](t, data)
	sameAsReference[onceHops](t, data)
	sameAsReference[createBody](t, data)
	sameAsReference[*types.ExecConfig](t, data)
	sameAsReference[*container.UpdateConfig](t, data)
	sameAsReference[*volume.VolumeCreateBody](t, data)
	sameAsReference[*swarm.ServiceSpec](t, data)
	sameAsReference[types.PluginPrivileges](t, data)
	sameAsReference[[]string](t, data)
	sameAsReference[any](t, data)
}

func TestDecodeOnceMatchesReference(t *testing.T) {
	inputs := append([]string(nil), onceInputs...)
	for _, g := range []string{"create-cli-20.10.json", "create-cli-28.json"} {
		inputs = append(inputs, readGolden(t, g))
	}
	for _, in := range inputs {
		checkAllTypes(t, []byte(in))
	}
}

// A target that is not a zero value is merged into by encoding/json; the
// single pass only handles zero targets and leaves the rest to the
// reference path.
func TestDecodeOnceNonZeroTarget(t *testing.T) {
	got := onceAll{S: "keep", M: map[string]int{"old": 1}}
	if err := StrictDecode([]byte(`{"M":{"new":2}}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.S != "keep" || got.M["old"] != 1 || got.M["new"] != 2 {
		t.Fatalf("merge into a non-zero target differs from encoding/json: %#v", got)
	}
}

func FuzzStrictDecodeOnce(f *testing.F) {
	for _, in := range onceInputs {
		f.Add([]byte(in))
	}
	f.Add([]byte(`{"Image":"alpine","HostConfig":{"Privileged":true,"Binds":["/:/h"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"ConsoleSize":[1,2],"Ulimits":[{"Name":"nofile","Soft":1,"Hard":2}]},"NetworkingConfig":{"EndpointsConfig":{"n":{"Aliases":["a"]}}}}`))
	f.Add([]byte(`{"TaskTemplate":{"ContainerSpec":{"Image":"x","Mounts":[{"Type":"bind","Source":"/"}]},"Resources":{"Limits":{"NanoCPUs":1}}},"Mode":{"Replicated":{"Replicas":2}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAllTypes(t, data)
	})
}

// The docker CLI's create bodies take the single pass, without falling
// back (the point of it: Normalize of a container create is the hot path).
func TestDecodeOnceTakesCLIBodies(t *testing.T) {
	for _, g := range []string{"create-cli-20.10.json", "create-cli-28.json"} {
		var b createBody
		if err := decodeOnce([]byte(readGolden(t, g)), reflect.ValueOf(&b).Elem()); err != nil {
			t.Errorf("%s: single pass fell back: %v", g, err)
		}
	}
	var e *types.ExecConfig
	if err := decodeOnce([]byte(`{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":true,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["ls","/"]}`), reflect.ValueOf(&e).Elem()); err != nil {
		t.Errorf("exec body: single pass fell back: %v", err)
	}
}
