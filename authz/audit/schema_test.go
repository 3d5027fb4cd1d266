package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestSchemaDocumented: SCHEMA.md lists every member of Record, in the
// order they are written.
func TestSchemaDocumented(t *testing.T) {
	f, err := os.Open("SCHEMA.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var documented []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			name, _, _ := strings.Cut(rest, "`")
			documented = append(documented, name)
		}
	}
	var fields []string
	rt := reflect.TypeOf(Record{})
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	if strings.Join(documented, " ") != strings.Join(fields, " ") {
		t.Errorf("SCHEMA.md documents\n  %v\nbut Record writes\n  %v\nupdate SCHEMA.md (and SchemaVersion if a member changed meaning)", documented, fields)
	}
	if fields[0] != "time" || fields[len(fields)-2] != "prev_hash" || fields[len(fields)-1] != "hash" {
		t.Errorf("field order %v: time must be first, prev_hash and hash last", fields)
	}
}

// TestSchemaGolden pins the exact bytes of a request, its response, a denied
// request and a checkpoint (deterministic: fixed clock, ids and signing key). Run
// `go test ./authz/audit -run TestSchemaGolden -update` after an intended
// schema change, and review the diff.
func TestSchemaGolden(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	signer, err := NewSigner(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, func(o *Options) {
		o.Signer, o.CheckpointEvery, o.CheckpointInterval = signer, -1, -1
		o.HMACKey = []byte("golden-hmac-key-0123456789")
	})
	body := []byte(`{"Image":"alpine","Env":["DB_PASSWORD=hunter2"],"HostConfig":{"Privileged":true,"Binds":["/srv:/srv"]}}`)
	req := &Record{
		Time: time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC), ID: "0123456789abcdef0123456789abcdef",
		Stage: StageRequest, User: "alice", Groups: []string{"group:developers"}, AuthMethod: "tls",
		CertSHA256: strings.Repeat("ab", 32), CertSerial: "4096",
		Method: "POST", URI: "/v1.41/containers/create?name=web", Route: "container:create", APIVersion: "1.41", Object: "web",
		Facets: []request.Facet{
			{Kind: "route", Value: "container:create", Source: "POST /containers/create"},
			{Kind: "privileged", Value: "container", Source: "HostConfig.Privileged"},
		},
		Headers:    map[string]string{"Content-Type": "application/json", "X-Registry-Auth": "c2VjcmV0"},
		BodySHA256: BodyDigest(body), BodySize: len(body), Level: string(LevelRequest),
		Body:     l.Redactor().Body("container:create", body),
		Decision: Allow, Reason: "allowed", Rules: []string{"p, group:developers, privileged, container, allow"},
		PolicyRevision: "sha256:0f1e2d",
	}
	mustWrite(t, l.Log, req)
	mustWrite(t, l.Log, &Record{
		Time: time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC), ID: "fedcba9876543210fedcba9876543210",
		Stage: StageResponse, RequestID: req.ID, User: "alice", Groups: []string{"group:developers"}, AuthMethod: "tls",
		Method: "POST", URI: "/v1.41/containers/create?name=web", Route: "container:create", APIVersion: "1.41", Object: "web",
		Level: string(LevelRequest), Decision: Allow, Status: 201,
	})
	// A deny decided by the policy: "denied" names the refused facets.
	mustWrite(t, l.Log, &Record{
		Time: time.Date(2024, 5, 1, 12, 0, 2, 0, time.UTC), ID: "00112233445566778899aabbccddeeff",
		Stage: StageRequest, User: "bob", Groups: []string{"group:developers"}, AuthMethod: "tls",
		Method: "POST", URI: "/v1.41/containers/create", Route: "container:create", APIVersion: "1.41",
		Facets: []request.Facet{
			{Kind: "route", Value: "container:create", Source: "POST /containers/create"},
			{Kind: "bind", Value: "/var/run/docker.sock", Source: "HostConfig.Binds[0]"},
		},
		Level:    string(LevelMetadata),
		Decision: Deny, Reason: "bob (group:developers) may not bind-mount /var/run/docker.sock (HostConfig.Binds[0]) [rule: p, group:developers, bind, /var/run/*, deny]",
		Rules:          []string{"p, group:developers, bind, /var/run/*, deny"},
		Denied:         []request.Facet{{Kind: "bind", Value: "/var/run/docker.sock", Source: "HostConfig.Binds[0]"}},
		PolicyRevision: "sha256:0f1e2d",
	})
	if err := l.Close(); err != nil { // the shutdown checkpoint, at the test clock's time
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	// The checkpoint's id is random: pin it.
	lines := bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n"))
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	cp := decode(t, lines[3])
	lines[3] = rehash(bytes.Replace(lines[3], []byte(`"id":"`+cp.ID+`"`), []byte(`"id":"checkpoint-id"`), 1))
	got = joinLines(lines)

	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("records differ from %s (if intended, run -update and review):\n got:\n%s\nwant:\n%s", golden, got, want)
	}
	// The golden trail verifies with the key: the hashes and the signature
	// in it are real.
	if sum, err := VerifyFilesWith(VerifyOptions{PublicKey: signer.key.Public().(ed25519.PublicKey)}, golden); err != nil || sum.Signed != 1 || sum.Unsealed != 0 {
		t.Errorf("golden trail does not verify: %+v %v", sum, err)
	}
}
