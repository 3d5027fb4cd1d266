package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bodyCases are request bodies of every shape the plugin redacts, plus the
// corner cases of JSON decoding the streaming redactor must get exactly as
// encoding/json does. The bodies of the captured CLI corpora are added by
// corpusBodies.
var bodyCases = []string{
	// container create and exec
	`{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["DB_PASSWORD=hunter2","PATH=/bin","EMPTY=","BARE",""],"Cmd":["sh","-c","curl https://user:pw@example.com/x"],"Image":"busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"com.example.token":"t0k","b":"a"},"HostConfig":{"Binds":["/:/h"],"LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","RestartPolicy":{"Name":"no","MaximumRetryCount":0},"Memory":536870912,"NanoCpus":1e9,"CpuShares":-1.5E+3},"NetworkingConfig":{"EndpointsConfig":{}}}`,
	`{"User":"","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":null,"WorkingDir":"","Cmd":["sh"]}`,
	`{"User":"root","Privileged":true,"Env":["A=1","SECRET_KEY=x=y=z"],"Cmd":["id"]}`,
	`{"Env":"A=1"}`, `{"Env":{"A":"1"}}`, `{"env":[1,null,true,{"a":"b"},["x"],"K=v",""]}`, `{"ENV":[]}`, `{"Env":null}`, `{"Env":""}`,
	// services
	`{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"nginx","Env":["API_TOKEN=abc"],"Secrets":[{"File":{"Name":"s","UID":"0","GID":"0","Mode":292},"SecretID":"id1","SecretName":"db"}],"Configs":[{"ConfigID":"c1","ConfigName":"cfg"}]},"Resources":{},"Placement":{}},"Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080}]}}`,
	// secrets and configs (Data is secret only on these routes)
	`{"Name":"db","Data":"aHVudGVyMg==","Labels":{}}`,
	`{"Name":"cfg","data":"Y29uZmln","Templating":{"Name":"golang"}}`,
	`{"Name":"x","Data":{"nested":[1,2,{"b":1,"a":2}]}}`,
	`{"Name":"x","Data":null}`, `{"Name":"x","Data":""}`, `{"Name":"x","Data":"[REDACTED]"}`,
	`{"Spec":{"Data":"inner is not top level"}}`,
	// plugin set, plugin privileges, auth
	`["DEBUG=1","PASSWORD=x","flag"]`, `[]`, `["a",1]`, `[null]`, `[["K=v"]]`,
	`[{"Name":"network","Description":"","Value":["host"]}]`,
	`{"username":"alice","password":"pw","serveraddress":"https://index.docker.io/v1/","identitytoken":"","auth":{"a":1}}`,
	`{"AuthConfig":{"username":"u","password":"p"},"Key":7,"Token":true,"Cookie":[1,2],"Session":1.5}`,
	// strings: escapes, HTML, separators, invalid UTF-8, surrogates
	`{"a":"<b>&amp;</b>","b":"\u003c\u0026\u003e","c":"\/\"\\\b\f\n\r\t","d":"\u0000\u001f\u007f"}`,
	`{"s":"\u2028\u2029 ` + "\u2028" + `","t":"é ü 漢字 😀","u":"\ud83d\ude00"}`,
	`{"lone":"\ud800","low":"\udc00x","pair":"\ud800\udc00","bad":"\ud800\u0041","two":"\ud800\ud800\udc00"}`,
	"{\"inv\":\"\xff\xfe\",\"trunc\":\"\xe2\x82\",\"ok\":\"\xe2\x82\xac\"}",
	"{\"\xffkey\":1,\"k\xc3\":2}",
	`{"url":"see https://u:p@h/x and ftp://a@b","escaped":"https:\/\/u:p@h","nourl":"a@b","noat":"http://h"}`,
	// keys: order, duplicates, escapes, Unicode case mapping
	`{"b":1,"a":2,"c":{"z":1,"y":[{"q":1,"p":2}]}}`,
	`{"a":1,"a":2}`, `{"b":1,"a":2,"b":3}`, `{"Env":["A=1"],"Env":["B=2"]}`, `{"password":"x","password":{"y":1}}`,
	`{"\u0061":1,"a":2}`, `{"A":1,"a":2,"_":3,"é":4,"":5}`, `{"\u212aEY":"kelvin","PASS\u0057ORD":"x","ſecret":"long s"}`,
	`{"<k>":"&"}`, `{"x\"y":1,"x\\y":2}`,
	// numbers and literals
	`0`, `-0`, `1.5e-10`, `123456789012345678901234567890`, `true`, `false`, `null`, `"str"`, `"https://u:p@h"`,
	`{"n":[0,-0,0.0,1E5,1e+5,-1.25e-3]}`,
	// white space and what may follow the value
	" \t\r\n{ \"a\" : [ 1 , 2 ] }\n ", `{"a":1}}`, `{"a":1}]trailing`, `[1]]`, `1]`, `"a"}`,
	// not JSON
	`{"a":1} x`, `{"a":1}{}`, `1 2`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `tru`, `truex`, `nul`, `{"a"}`, `{"a":}`, `{a:1}`,
	`{"a":1,}`, `[1,]`, `[,1]`, `{"a":1`, `[`, `"abc`, `"\x"`, `"\u12"`, `"\u12G4"`, "\"a\tb\"", "\"\x01\"",
	`   `, "\x00", `{"a":"b"}x`, `tar file`, `{"Data":"x"}garbage`, `{"a":"\'"}`,
}

// corpusBodies returns the bodies of the captured docker CLI requests.
func corpusBodies(t testing.TB) []string {
	var out []string
	var reqs []struct {
		Body string `json:"body"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "policy", "dockerargs", "testdata", "cli-20.10.24.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &reqs); err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.Body != "" {
			out = append(out, r.Body)
		}
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "test", "bench", "testdata", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	if len(out) < 50 {
		t.Fatalf("only %d corpus bodies", len(out))
	}
	return out
}

var bodyRoutes = []string{"container:create", "secret:create", "config:update", "plugin:set", ""}

// checkBody compares Body with the reference implementation.
func checkBody(t *testing.T, r *Redactor, route string, body []byte) {
	t.Helper()
	want := bodyRef(r, route, body)
	got := r.Body(route, body)
	if want == nil || got == nil {
		if want != nil || got != nil {
			t.Fatalf("route %q body %q: got %v, want %q", route, body, got, want)
		}
		return
	}
	g, err := got.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, want) {
		t.Fatalf("route %q body %q:\n got %s\nwant %s", route, body, g, want)
	}
}

func TestBodyMatchesReference(t *testing.T) {
	bodies := append(append([]string(nil), bodyCases...), corpusBodies(t)...)
	bodies = append(bodies,
		strings.Repeat("[", maxBodyDepth)+strings.Repeat("]", maxBodyDepth),
		strings.Repeat("[", maxBodyDepth+1)+strings.Repeat("]", maxBodyDepth+1),
		strings.Repeat(`{"a":`, maxBodyDepth)+"1"+strings.Repeat("}", maxBodyDepth),
		strings.Repeat(`{"a":`, maxBodyDepth+1)+"1"+strings.Repeat("}", maxBodyDepth+1),
		`{"Env":`+strings.Repeat("[", maxBodyDepth-1)+strings.Repeat("]", maxBodyDepth-1)+`}`,
		`{"Env":`+strings.Repeat("[", maxBodyDepth)+strings.Repeat("]", maxBodyDepth)+`}`,
		`"`+strings.Repeat("x", MaxStoredBody-2)+`"`,
		`"`+strings.Repeat("x", MaxStoredBody-1)+`"`,
	)
	for _, r := range []*Redactor{nil, NewRedactor(nil), NewRedactor([]byte("0123456789abcdef-hmac"))} {
		for _, route := range bodyRoutes {
			for _, b := range bodies {
				checkBody(t, r, route, []byte(b))
			}
		}
	}
	if RedactBody("x", nil) != nil {
		t.Error("empty body: want nil")
	}
}

// TestBodyValue checks that Value decodes what MarshalJSON writes.
func TestBodyValue(t *testing.T) {
	b := RedactBody("container:create", []byte(`{"Image":"busybox","Env":["A=b"],"N":1.50}`))
	m, ok := b.Value().(map[string]any)
	if !ok || m["Image"] != "busybox" || m["N"] != json.Number("1.50") {
		t.Fatalf("Value: %#v", b.Value())
	}
	if env, _ := m["Env"].([]any); len(env) != 1 || env[0] != "A="+Redacted {
		t.Errorf("Env: %#v", m["Env"])
	}
	if s, _ := RedactBody("", []byte("tar")).Value().(string); s != "[not stored: 3 bytes, not JSON]" {
		t.Errorf("marker: %q", s)
	}
	if (*RedactedBody)(nil).Value() != nil || (&RedactedBody{}).Value() != nil {
		t.Error("nil body")
	}
	for _, b := range []*RedactedBody{nil, {}} {
		if j, err := b.MarshalJSON(); err != nil || string(j) != "null" {
			t.Errorf("%#v: %s %v", b, j, err)
		}
	}
}

func FuzzRedactBody(f *testing.F) {
	for _, b := range bodyCases {
		f.Add(b, uint8(0))
	}
	for _, b := range corpusBodies(f)[:8] {
		f.Add(b, uint8(1))
	}
	keyed := NewRedactor([]byte("0123456789abcdef-hmac"))
	f.Fuzz(func(t *testing.T, body string, sel uint8) {
		r := (*Redactor)(nil)
		if sel&1 == 1 {
			r = keyed
		}
		checkBody(t, r, bodyRoutes[int(sel>>1)%len(bodyRoutes)], []byte(body))
	})
}

var benchBodies = map[string]string{
	"create": "create-cli-28.2.2.json",
	"exec":   "exec-cli-28.2.2.json",
}

// BenchmarkRedactBody measures the redaction of the docker CLI's create and
// exec bodies into the bytes the record stores (Body then MarshalJSON), the
// streaming redactor against the reference it replaced.
func BenchmarkRedactBody(b *testing.B) {
	for _, name := range []string{"create", "exec"} {
		body, err := os.ReadFile(filepath.Join("..", "..", "test", "bench", "testdata", benchBodies[name]))
		if err != nil {
			b.Fatal(err)
		}
		for _, keyed := range []bool{false, true} {
			r := (*Redactor)(nil)
			suffix := "/nokey"
			if keyed {
				r, suffix = NewRedactor([]byte("0123456789abcdef-hmac")), "/hmac"
			}
			b.Run(name+suffix+"/stream", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					if _, err := r.Body("container:create", body).MarshalJSON(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+suffix+"/reference", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					bodyRef(r, "container:create", body)
				}
			})
		}
	}
}

// TestSensitiveKeyMatchesSensitiveName keeps the allocation-free matcher of
// member names in step with SensitiveName (and its word list).
func TestSensitiveKeyMatchesSensitiveName(t *testing.T) {
	names := []string{"", "Image", "Env", "Data", "HostConfig", "x-registry-config", "X-Registry-Config", "sess", "cook", "credentia", "pass", "ke", "toke", "aut", "secre",
		"\u212aey", "ſecret", strings.Repeat("a", 64) + "key", strings.Repeat("b", 63) + "K"}
	for n := range sensitiveNames {
		names = append(names, n, strings.ToUpper(n))
	}
	for _, w := range sensitiveWords {
		names = append(names, w, strings.ToUpper(w), "My"+strings.ToUpper(w[:1])+w[1:]+"X", "x_"+w, w[:len(w)-1])
	}
	for _, n := range names {
		if got, want := sensitiveKey([]byte(n)), SensitiveName(n); got != want {
			t.Errorf("sensitiveKey(%q) = %v, SensitiveName says %v", n, got, want)
		}
	}
}
