package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-authz/docker-authz/authz/request"
)

// TestGoldenLine checks the exact bytes of the first two lines of a trail
// against lines built by hand: field order (time first, hash last), the
// hash over the line with an empty hash value, and the chain link.
func TestGoldenLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := openTest(t, path, nil)
	rec := &Record{
		Time:           time.Date(2024, 5, 1, 12, 0, 0, 500, time.FixedZone("CEST", 2*3600)),
		ID:             "r1",
		Stage:          StageRequest,
		User:           "alice",
		Groups:         []string{"group:developers"},
		AuthMethod:     "tls",
		CertSHA256:     "ab12",
		Method:         "POST",
		URI:            "/v1.41/containers/create?name=web",
		Route:          "container:create",
		APIVersion:     "1.41",
		Facets:         []request.Facet{{Kind: "privileged", Value: "container", Source: "HostConfig.Privileged"}},
		Headers:        map[string]string{"content-type": "application/json", "X-Registry-Auth": "c2VjcmV0"},
		BodySHA256:     BodyDigest([]byte(`{"Image":"busybox"}`)),
		BodySize:       19,
		Decision:       Deny,
		Reason:         "alice (group:developers) may not run privileged containers",
		Rules:          []string{"p, group:developers, privileged, *, deny"},
		PolicyRevision: "rev1",
	}
	mustWrite(t, l.Log, rec)
	resp := &Record{ID: "r2", Stage: StageResponse, RequestID: "r1", User: "alice", Method: "GET", URI: "/_ping", Decision: Allow, Status: 200}
	mustWrite(t, l.Log, resp)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	want1 := `{"time":"2024-05-01T10:00:00.0000005Z","v":1,"seq":1,"id":"r1","stage":"request","host":"host1",` +
		`"user":"alice","groups":["group:developers"],"auth_method":"tls","cert_sha256":"ab12",` +
		`"method":"POST","uri":"/v1.41/containers/create?name=web","route":"container:create","api_version":"1.41",` +
		`"facets":[{"kind":"privileged","value":"container","source":"HostConfig.Privileged"}],` +
		`"headers":{"Content-Type":"application/json","X-Registry-Auth":"[REDACTED]"},` +
		`"body_sha256":"` + BodyDigest([]byte(`{"Image":"busybox"}`)) + `","body_size":19,` +
		`"decision":"deny","reason":"alice (group:developers) may not run privileged containers",` +
		`"rules":["p, group:developers, privileged, *, deny"],"policy_revision":"rev1",` +
		`"prev_hash":"","hash":""}`
	sum1 := sha256.Sum256([]byte(want1))
	h1 := hex.EncodeToString(sum1[:])
	line1 := strings.TrimSuffix(want1, `""}`) + `"` + h1 + `"}`

	want2 := `{"time":"2024-05-01T12:00:00.001Z","v":1,"seq":2,"id":"r2","stage":"response","request_id":"r1","host":"host1",` +
		`"user":"alice","method":"GET","uri":"/_ping","decision":"allow","status":200,` +
		`"prev_hash":"` + h1 + `","hash":""}`
	sum2 := sha256.Sum256([]byte(want2))
	h2 := hex.EncodeToString(sum2[:])
	line2 := strings.TrimSuffix(want2, `""}`) + `"` + h2 + `"}`

	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := line1 + "\n" + line2 + "\n"; string(got) != want {
		t.Fatalf("trail bytes differ\n got: %s\nwant: %s", got, want)
	}
	if rec.Seq != 1 || rec.PrevHash != "" || rec.Hash != h1 {
		t.Errorf("rec after Write: seq %d prev %q hash %q, want 1, \"\", %s", rec.Seq, rec.PrevHash, rec.Hash, h1)
	}
	if resp.Seq != 2 || resp.PrevHash != h1 || resp.Hash != h2 {
		t.Errorf("resp after Write: seq %d prev %q hash %q", resp.Seq, resp.PrevHash, resp.Hash)
	}
	if seq, head := l.Head(); seq != 2 || head != h2 {
		t.Errorf("Head() = %d, %s; want 2, %s", seq, head, h2)
	}
}

// TestSpliceMatchesMarshal checks that the writer's spliced line is exactly
// json.Marshal of the chained record, for seqs of every width and awkward
// content (escapes, HTML characters, unicode).
func TestSpliceMatchesMarshal(t *testing.T) {
	rec := &Record{
		Time: t0, V: SchemaVersion, ID: `x"y\z`, Stage: StageRequest, User: "bob<&>é\u2028",
		Method: "POST", URI: "/a?b=c&d=<e>", Decision: Allow, Reason: "seq\":0,",
	}
	tpl, err := newTemplate(rec)
	if err != nil {
		t.Fatal(err)
	}
	prev := strings.Repeat("ab", 32)
	for _, seq := range []uint64{1, 9, 10, 12345, 1<<64 - 1} {
		line, h := appendLine(nil, tpl, seq, prev)
		r := *rec
		r.Seq, r.PrevHash = seq, prev
		m, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(m)
		if hex.EncodeToString(sum[:]) != h {
			t.Errorf("seq %d: hash %s is not sha256 of json.Marshal output", seq, h)
		}
		want := strings.TrimSuffix(string(m), `""}`) + `"` + h + "\"}\n"
		if string(line) != want {
			t.Errorf("seq %d:\n got %s\nwant %s", seq, line, want)
		}
		if _, ok, bad := lineHash(line[:len(line)-1]); !ok || bad {
			t.Errorf("seq %d: lineHash does not accept the line", seq)
		}
	}
}

func TestWriteValidates(t *testing.T) {
	l := openTest(t, filepath.Join(t.TempDir(), "a.jsonl"), nil)
	defer l.Close()
	ctx := context.Background()
	for _, r := range []*Record{
		nil,
		{Stage: "", Decision: Allow},
		{Stage: "checkpoint", Decision: Allow},
		{Stage: StageRequest, Decision: ""},
		{Stage: StageRequest, Decision: "maybe"},
		{Stage: StageRequest, Decision: Deny, Reason: strings.Repeat("x", MaxLineSize)},
	} {
		if err := l.Write(ctx, r); err == nil {
			t.Errorf("Write(%+v) succeeded", r)
		}
	}
	if seq, _ := l.Head(); seq != 0 {
		t.Errorf("rejected records advanced the chain to %d", seq)
	}
	// Defaults: ID, Host, UTC time, V.
	r := &Record{Stage: StageRequest, Decision: Deny, Time: time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("X", 3600))}
	mustWrite(t, l.Log, r)
	if len(r.ID) != 32 || r.Host != "host1" || r.Time.Location() != time.UTC || r.V != SchemaVersion || r.Seq != 1 {
		t.Errorf("defaults not filled: %+v", r)
	}
}
