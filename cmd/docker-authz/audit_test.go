package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-authz/docker-authz/authz/audit"
)

// writeSignedTrail writes a rotated, signed trail with the key pair made by
// `audit keygen` and returns its directory and the public key file.
func writeSignedTrail(t *testing.T, n int, close bool) (dir, pub string) {
	t.Helper()
	dir = t.TempDir()
	keys := t.TempDir()
	priv := filepath.Join(keys, "k.pem")
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "keygen", "--out", priv}, &out, &errb); code != 0 {
		t.Fatalf("keygen: %d %s", code, errb.String())
	}
	signer, err := audit.LoadSigningKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(filepath.Join(dir, "audit.jsonl"), audit.Options{Host: "h", Signer: signer, CheckpointEvery: 4, CheckpointInterval: -1, MaxSize: 3000})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		rec := &audit.Record{Stage: audit.StageRequest, User: "alice", Method: "GET", URI: fmt.Sprintf("/v1.41/containers/json?limit=%d", i), Decision: audit.Deny}
		if err := l.Write(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if close {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Cleanup(func() { l.Close() })
	}
	return dir, filepath.Join(keys, "k.pub.pem")
}

func verifyCLI(args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"audit", "verify"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

func TestAuditVerifyExitCodes(t *testing.T) {
	dir, pub := writeSignedTrail(t, 30, true)
	files, _ := audit.TrailFiles(filepath.Join(dir, "audit.jsonl"))
	if len(files) < 4 {
		t.Fatalf("%d files, want a rotated trail", len(files))
	}
	_, otherPub := writeSignedTrail(t, 1, true)

	code, out := verifyCLI("--key", pub, dir)
	if code != verifyOK || !strings.Contains(out, "every signature verified") {
		t.Errorf("intact trail: %d\n%s", code, out)
	}
	// Files in reverse order, by glob: the same.
	if code, out := verifyCLI("--key", pub, filepath.Join(dir, "audit.jsonl*")); code != verifyOK {
		t.Errorf("glob: %d\n%s", code, out)
	}
	if code, out := verifyCLI(dir); code != verifyOK || !strings.Contains(out, "NOTE: signatures NOT checked") {
		t.Errorf("no key: %d\n%s", code, out)
	}
	if code, out := verifyCLI("--key", otherPub, dir); code != verifyTampered || !strings.Contains(out, "forged checkpoint") {
		t.Errorf("wrong key: %d\n%s", code, out)
	}
	if code, out := verifyCLI("--key", pub, "--min-seq", "1000", dir); code != verifyTampered || !strings.Contains(out, "truncated") {
		t.Errorf("min-seq: %d\n%s", code, out)
	}
	if code, out := verifyCLI(append([]string{"--key", pub}, files[1:]...)...); code != verifyWarning || !strings.Contains(out, "PARTIAL") {
		t.Errorf("partial: %d\n%s", code, out)
	}
	if code, _ := verifyCLI("--key", pub, filepath.Join(dir, "nope")); code != verifyUsage {
		t.Errorf("missing file: %d", code)
	}
	if code, _ := verifyCLI(); code != verifyUsage {
		t.Errorf("no args: %d", code)
	}

	// A missing file in the middle is named.
	mid := append(append([]string(nil), files[:1]...), files[2:]...)
	if code, out := verifyCLI(append([]string{"--key", pub}, mid...)...); code != verifyTampered || !strings.Contains(out, "rotated file between them is missing") || !strings.Contains(out, "TAMPERED: the trail was modified or damaged at "+files[2]+" line 1") {
		t.Errorf("missing middle file: %d\n%s", code, out)
	}
	// An edited field: the file, line and seq are named.
	b, _ := os.ReadFile(files[1])
	edited := bytes.Replace(b, []byte(`"user":"alice"`), []byte(`"user":"bobby"`), 1)
	if bytes.Equal(b, edited) {
		t.Fatal("nothing edited")
	}
	if err := os.WriteFile(files[1], edited, 0o640); err != nil {
		t.Fatal(err)
	}
	if code, out := verifyCLI("--key", pub, dir); code != verifyTampered || !strings.Contains(out, "FAILED: audit verify: "+files[1]+":1 (seq ") || !strings.Contains(out, "hash mismatch") {
		t.Errorf("edited: %d\n%s", code, out)
	}
}

func TestAuditVerifyUnsealedAndUnsigned(t *testing.T) {
	dir, pub := writeSignedTrail(t, 6, false) // still open: records after the last checkpoint
	code, out := verifyCLI("--key", pub, dir)
	if code != verifyWarning || !strings.Contains(out, "UNSEALED: ") {
		t.Errorf("unsealed: %d\n%s", code, out)
	}
	plain := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := audit.Open(plain, audit.Options{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Write(context.Background(), &audit.Record{Stage: audit.StageRequest, Method: "GET", URI: "/_ping", Decision: audit.Allow}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	code, out = verifyCLI(plain)
	if code != verifyOK || !strings.Contains(out, "NOTE: UNSIGNED") || !strings.Contains(out, "1 allowed request(s) have no response record") {
		t.Errorf("unsigned: %d\n%s", code, out)
	}
	if code, out := verifyCLI("--key", pub, plain); code != verifyWarning || !strings.Contains(out, "WARNING: UNSIGNED") {
		t.Errorf("unsigned with --key: %d\n%s", code, out)
	}
	// A torn last line is a warning, not tampering.
	f, _ := os.OpenFile(plain, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":"2024`)
	f.Close()
	if code, out := verifyCLI(plain); code != verifyWarning || !strings.Contains(out, "TORN") {
		t.Errorf("torn: %d\n%s", code, out)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "100MiB": 100 << 20, "512k": 512 << 10, "1G": 1 << 30, "2048": 2048, "10 MB": 10 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "MiB", "1T", "1.5G"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
