package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const secret = "s3cr3t-P@ss"

func TestRedactHeaders(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // "" means: redacted
	}{
		{"Content-Type", "application/json", "application/json"},
		{"content-length", "42", "42"},
		{"User-Agent", "Docker-Client/24.0.5 (linux)", "Docker-Client/24.0.5 (linux)"},
		{"Host", "api.moby.localhost", "api.moby.localhost"},
		{"X-Registry-Auth", secret, ""},
		{"x-registry-config", secret, ""},
		{"Authorization", "Bearer " + secret, ""},
		{"Proxy-Authorization", "Basic " + secret, ""},
		{"Cookie", "sid=" + secret, ""},
		{"X-Api-Token", secret, ""},
		{"X-Client-Secret", secret, ""},
		{"X-Password", secret, ""},
		{"X-Api-Key", secret, ""},
		{"X-Credentials", secret, ""},
		{"X-AUTHENTICATED-USER", secret, ""},
		{"X-Custom-Thing", secret, ""}, // unknown: value redacted too
		{"Accept", "*/*", "*/*"},
	}
	in := map[string]string{}
	for _, tc := range tests {
		in[tc.name] = tc.value
	}
	inCopy := map[string]string{}
	for k, v := range in {
		inCopy[k] = v
	}
	out := RedactHeaders(in)
	if !reflect.DeepEqual(in, inCopy) {
		t.Error("RedactHeaders modified its input")
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	outH := NewRedactor(key).Headers(in)
	for _, tc := range tests {
		name := canonical(tc.name)
		got, ok := out[name]
		if !ok {
			t.Errorf("%s dropped; names are kept", name)
			continue
		}
		if tc.want == "" {
			if got != Redacted {
				t.Errorf("%s = %q, want %q", name, got, Redacted)
			}
			m := hmac.New(sha256.New, key)
			m.Write([]byte(tc.value))
			if want := HMACPrefix + hex.EncodeToString(m.Sum(nil)); outH[name] != want {
				t.Errorf("%s with key = %q, want %q", name, outH[name], want)
			}
		} else if got != tc.want || outH[name] != tc.want {
			t.Errorf("%s = %q / %q, want %q in clear", name, got, outH[name], tc.want)
		}
	}
	for k, v := range out {
		if strings.Contains(v, secret) || strings.Contains(outH[k], secret) {
			t.Errorf("secret leaked in %s", k)
		}
	}
	if RedactHeaders(nil) != nil {
		t.Error("nil headers should stay nil")
	}
	// Redacting twice changes nothing.
	if again := RedactHeaders(out); !reflect.DeepEqual(again, out) {
		t.Errorf("not idempotent: %v", again)
	}
}

func canonical(s string) string {
	out := RedactHeaders(map[string]string{s: "x"})
	for k := range out {
		return k
	}
	return ""
}

func TestRedactHMACCorrelates(t *testing.T) {
	r1 := NewRedactor([]byte("key-one-0123456789"))
	r2 := NewRedactor([]byte("key-two-0123456789"))
	a, b, c := r1.Value(secret), r1.Value(secret), r1.Value("other")
	if a != b || a == c || !strings.HasPrefix(a, HMACPrefix) || len(a) != len(HMACPrefix)+64 {
		t.Errorf("same secret %q %q, other %q", a, b, c)
	}
	if r2.Value(secret) == a {
		t.Error("HMAC does not depend on the key")
	}
}

func TestClipLongClearValue(t *testing.T) {
	ua := strings.Repeat("é", 400) // 800 bytes
	got := RedactHeaders(map[string]string{"User-Agent": ua})["User-Agent"]
	if len(got) > maxClearHeader || !strings.HasSuffix(got, "[truncated]") || !json.Valid([]byte(`"`+got+`"`)) {
		t.Errorf("clip: %d bytes %q", len(got), got)
	}
	if clip(got) != got {
		t.Error("clip not idempotent")
	}
}

func TestRedactURI(t *testing.T) {
	tests := []struct {
		in      string
		same    bool     // unchanged byte for byte
		present []string // must remain
	}{
		{in: "/v1.41/containers/create?name=web", same: true},
		{in: "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D", same: true},
		{in: "/_ping", same: true},
		{in: `/v1.41/build?t=img&buildargs=%7B%22PASSWORD%22%3A%22` + secret + `%22%2C%22EMPTY%22%3Anull%7D`, present: []string{"PASSWORD", "EMPTY", "t=img"}},
		{in: "/build?remote=https%3A%2F%2Fbob%3A" + secret + "%40github.com%2Fo%2Fr.git", present: []string{"github.com", "REDACTED"}},
		{in: "/build?remote=https%3A%2F%2F" + secret + "%40github.com%2Fo%2Fr.git", present: []string{"github.com"}},
		{in: "/images/create?fromSrc=http%3A%2F%2Fu%3A" + secret + "%40example.com%2Fx.tar", present: []string{"example.com"}},
		{in: "/build?remote=" + url.QueryEscape("https://bob:pa%ss"+secret+"@h/x"), present: []string{"remote="}},
		{in: "/build?remote=git%40github.com%3Ao%2Fr.git", same: true},
		{in: "/x?access_token=" + secret + "&q=1", present: []string{"access_token", "q=1"}},
		{in: "/x?a=%zz&password=" + secret, present: []string{Redacted}},
	}
	for _, tc := range tests {
		got := RedactURI(tc.in)
		if tc.same && got != tc.in {
			t.Errorf("%s changed to %s", tc.in, got)
		}
		dec, _ := url.QueryUnescape(got)
		if strings.Contains(got, secret) || strings.Contains(dec, secret) {
			t.Errorf("%s: secret left in %s", tc.in, got)
		}
		for _, p := range tc.present {
			if !strings.Contains(dec, p) {
				t.Errorf("%s: %q missing from %s", tc.in, p, dec)
			}
		}
		if again := RedactURI(got); again != got {
			t.Errorf("not idempotent: %s -> %s", got, again)
		}
	}
}

func TestBodyDigest(t *testing.T) {
	body := []byte(`{"Image":"busybox"}`)
	s := sha256.Sum256(body)
	if BodyDigest(body) != hex.EncodeToString(s[:]) || BodyDigest(nil) != "" {
		t.Error("BodyDigest")
	}
}

// TestSecretsNeverReachDisk writes a record built the way the plugin builds
// one from a container create with secrets in Env, headers and the URI, and
// checks the trail bytes.
func TestSecretsNeverReachDisk(t *testing.T) {
	body := []byte(`{"Image":"busybox","Env":["DB_PASSWORD=` + secret + `"],"HostConfig":{}}`)
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	for _, key := range [][]byte{nil, []byte("0123456789abcdef")} {
		l := openTest(t, path, func(o *Options) { o.HMACKey = key })
		rec := newRec("alice", 1)
		rec.URI = "/v1.41/build?buildargs=%7B%22TOKEN%22%3A%22" + secret + "%22%7D"
		rec.Headers = map[string]string{
			"X-Registry-Auth":   "eyJwYXNzd29yZCI6InMzY3IzdC1QQHNzIn0=" + secret,
			"X-Registry-Config": secret,
			"Authorization":     "Bearer " + secret,
			"Content-Type":      "application/json",
		}
		rec.BodySHA256, rec.BodySize = BodyDigest(body), len(body)
		mustWrite(t, l.Log, rec)
		l.Close()
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(url.QueryEscape(secret))) {
		t.Fatalf("secret on disk:\n%s", b)
	}
	if !bytes.Contains(b, []byte(BodyDigest(body))) || !bytes.Contains(b, []byte(HMACPrefix)) {
		t.Errorf("body digest or HMAC missing:\n%s", b)
	}
	if _, err := VerifyFiles(path); err != nil {
		t.Fatal(err)
	}
}

// TestRecordCannotCarryBodies guards the documented guarantee that raw
// bodies (and so container Env values) never reach the trail: Record must
// have no field able to hold raw request data. The one body field is a
// *RedactedBody, whose content is unexported so that only the redactor in
// this package can build it; the checkpoint seal holds only scalars.
func TestRecordCannotCarryBodies(t *testing.T) {
	allowedStructs := map[string]bool{"time.Time": true, "request.Facet": true, "audit.Checkpoint": true}
	var check func(path string, typ reflect.Type)
	check = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.String, reflect.Int, reflect.Uint64, reflect.Bool:
		case reflect.Slice:
			if typ.Elem().Kind() == reflect.Uint8 {
				t.Errorf("%s is a byte slice: it could hold a body", path)
				return
			}
			check(path+"[]", typ.Elem())
		case reflect.Map:
			if typ.Key().Kind() != reflect.String || typ.Elem().Kind() != reflect.String || path != "Record.Headers" {
				t.Errorf("%s is a map: only the redacted Headers may be one", path)
			}
		case reflect.Pointer:
			switch {
			case path == "Record.Body" && typ.Elem() == reflect.TypeOf(RedactedBody{}):
				for i := 0; i < typ.Elem().NumField(); i++ {
					if typ.Elem().Field(i).IsExported() {
						t.Errorf("RedactedBody.%s is exported: code outside the redactor could fill it", typ.Elem().Field(i).Name)
					}
				}
			case path == "Record.Checkpoint" && typ.Elem() == reflect.TypeOf(Checkpoint{}):
				check(path, typ.Elem())
			default:
				t.Errorf("%s is a pointer to %s, which could carry arbitrary data", path, typ.Elem())
			}
		case reflect.Struct:
			if typ.String() == "time.Time" {
				return
			}
			if !allowedStructs[typ.String()] && path != "Record" {
				t.Errorf("%s: unexpected struct %s", path, typ)
				return
			}
			for i := 0; i < typ.NumField(); i++ {
				f := typ.Field(i)
				if strings.Contains(strings.ToLower(f.Name), "body") && f.Name != "BodySHA256" && f.Name != "BodySize" && !(path == "Record" && f.Name == "Body") {
					t.Errorf("%s.%s: a body field", path, f.Name)
				}
				check(path+"."+f.Name, f.Type)
			}
		default:
			t.Errorf("%s has kind %s, which could carry arbitrary data", path, typ.Kind())
		}
	}
	check("Record", reflect.TypeOf(Record{}))
}
